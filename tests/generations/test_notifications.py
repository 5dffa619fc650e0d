"""Waiting calls are woken by the worker's "finished" message, through one Redis subscription
per process however many calls wait; their rows are re-read together, in one query, so a lost
message (or no Redis) only slows them."""

import asyncio
import contextlib
import time
import uuid

import pytest
import redis
from asgiref.sync import async_to_sync
from django.test import override_settings
from django.utils import timezone

from generations.messaging import notifications
from generations.messaging.notifications import (
    FALLBACK_SWEEP_S,
    RECHECK_S,
    generation_wait_terminal_async,
    generation_watch,
    notify_finished,
    notify_progress,
)
from generations.models import Generation
from generations.runtime.db import off_loop
from generations.selectors import progress
from generations.selectors.progress import ProgressMark
from tests.factories import GenerationFactory
from tests.services import require_redis

pytestmark = pytest.mark.django_db(transaction=True)

CALLS = 20


def running_generations(user, count: int) -> list[str]:
    generations = [
        GenerationFactory(owner=user, prompt=f"waiting {number}", status=Generation.Status.RUNNING)
        for number in range(count)
    ]
    return [str(generation.id) for generation in generations]


def pattern_subscribers(client: redis.Redis, name: str) -> int:
    """Pattern subscriptions open on connections named ``name`` (other test processes of a
    parallel run subscribe on the same server)."""
    return sum(
        1
        for entry in client.client_list(_type="pubsub")
        if entry.get("name") == name and int(entry.get("psub", 0))
    )


def named(url: str) -> tuple[str, str]:
    """``url`` with a client name of this test's own (redis-py's ``client_name`` parameter)."""
    name = f"notify-test-{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}client_name={name}", name


def test_waiting_calls_wake_at_the_finish_and_share_one_subscription(user) -> None:
    url, name = named(require_redis())
    observer = redis.Redis.from_url(url)
    ids = running_generations(user, CALLS)

    def finish_all() -> None:
        Generation.objects.filter(id__in=ids).update(status=Generation.Status.SUCCEEDED)
        for generation_id in ids:
            notify_finished(generation_id)

    async def scenario() -> tuple[int, int, list[bool], float]:
        before = pattern_subscribers(observer, name)
        waits = [
            asyncio.create_task(
                generation_wait_terminal_async(generation_id=generation_id, timeout_s=30)
            )
            for generation_id in ids
        ]
        await asyncio.sleep(0.5)
        during = pattern_subscribers(observer, name)
        assert not any(wait.done() for wait in waits)
        started = time.monotonic()
        await off_loop(finish_all)()
        finished = await asyncio.gather(*waits)
        return before, during, finished, time.monotonic() - started

    with override_settings(NOTIFY_REDIS_URL=url):
        before, during, finished, woken_after_s = async_to_sync(scenario)()

    assert finished == [True] * CALLS
    assert during - before == 1  # one subscription for all the waiting calls
    assert woken_after_s < RECHECK_S / 2  # woken by the message, not by re-reading the rows


def test_without_redis_a_waiting_call_reads_its_row(user) -> None:
    generation = GenerationFactory(owner=user, status=Generation.Status.RUNNING)

    async def scenario() -> tuple[bool, bool]:
        unfinished = await generation_wait_terminal_async(
            generation_id=str(generation.id), timeout_s=0.3
        )
        await off_loop(Generation.objects.filter(id=generation.id).update)(
            status=Generation.Status.FAILED
        )
        ended = await generation_wait_terminal_async(generation_id=str(generation.id), timeout_s=5)
        return unfinished, ended

    with override_settings(NOTIFY_REDIS_URL=""):
        assert async_to_sync(scenario)() == (False, True)


def test_waiting_rows_are_read_together_in_one_query_per_sweep(user, monkeypatch) -> None:
    ids = running_generations(user, CALLS)
    reads: list[int] = []
    read = progress.generations_ended

    def counted(*, generation_ids):
        reads.append(len(generation_ids))
        return read(generation_ids=generation_ids)

    monkeypatch.setattr(progress, "generations_ended", counted)

    async def scenario() -> tuple[list[bool], float]:
        waits = [
            asyncio.create_task(
                generation_wait_terminal_async(generation_id=generation_id, timeout_s=30)
            )
            for generation_id in ids
        ]
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await off_loop(Generation.objects.filter(id__in=ids).update)(
            status=Generation.Status.SUCCEEDED
        )  # and no message: no Redis here
        finished = await asyncio.gather(*waits)
        return finished, time.monotonic() - started

    with override_settings(NOTIFY_REDIS_URL=""):
        finished, woken_after_s = async_to_sync(scenario)()

    assert finished == [True] * CALLS
    assert woken_after_s < 2 * FALLBACK_SWEEP_S
    # Each call reads its own row once on arrival; after that one query reads them all.
    assert reads[:CALLS] == [1] * CALLS
    assert reads[CALLS:]
    assert set(reads[CALLS:]) == {CALLS}
    assert len(reads[CALLS:]) <= 3


def test_with_redis_a_lost_message_only_slows_a_waiter(user, monkeypatch) -> None:
    url = require_redis()
    monkeypatch.setattr(notifications, "RECHECK_S", 0.3)
    (generation_id,) = running_generations(user, 1)

    async def scenario() -> tuple[bool, float]:
        wait = asyncio.create_task(
            generation_wait_terminal_async(generation_id=generation_id, timeout_s=30)
        )
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await off_loop(Generation.objects.filter(id=generation_id).update)(
            status=Generation.Status.FAILED
        )  # the message is lost: never published
        return await wait, time.monotonic() - started

    with override_settings(NOTIFY_REDIS_URL=url):
        ended, woken_after_s = async_to_sync(scenario)()

    assert ended
    assert woken_after_s < 1.5


def test_a_deleted_or_unknown_generation_ends_the_wait(user) -> None:
    deleted, running = running_generations(user, 2)
    Generation.objects.filter(id=deleted).update(deleted_at=timezone.now())
    unknown = str(uuid.uuid4())

    async def scenario() -> bool:
        return await generation_wait_terminal_async(generation_id=deleted, timeout_s=5)

    with override_settings(NOTIFY_REDIS_URL=""):
        assert async_to_sync(scenario)()
    ids = [deleted, running, unknown]
    assert progress.generations_ended(generation_ids=ids) == {deleted, unknown}


def test_progress_wakes_event_streams_and_not_calls_waiting_for_the_end(user) -> None:
    url = require_redis()
    (generation_id,) = running_generations(user, 1)

    async def scenario() -> tuple[bool, bool]:
        async with (
            generation_watch(generation_id=generation_id, until_ended=False) as stream,
            generation_watch(generation_id=generation_id, until_ended=True) as long_poll,
        ):
            stream.seen = ProgressMark(status="running", last_output_id=0)
            await asyncio.sleep(0.3)  # subscribed
            await off_loop(notify_progress)(generation_id)
            return await stream.wait(3), await long_poll.wait(0.5)

    with override_settings(NOTIFY_REDIS_URL=url):
        assert async_to_sync(scenario)() == (True, False)


def test_without_redis_a_stream_is_woken_when_its_row_moves_one_query_per_sweep(
    user, monkeypatch
) -> None:
    ids = running_generations(user, CALLS)
    reads: list[int] = []
    marks = progress.generation_marks

    def counted(*, generation_ids):
        reads.append(len(generation_ids))
        return marks(generation_ids=generation_ids)

    monkeypatch.setattr(progress, "generation_marks", counted)

    async def scenario() -> tuple[list[bool], list[bool]]:
        async with contextlib.AsyncExitStack() as stack:
            watches = [
                await stack.enter_async_context(
                    generation_watch(generation_id=generation_id, until_ended=False)
                )
                for generation_id in ids
            ]
            for watch in watches:
                watch.seen = ProgressMark(status="running", last_output_id=0)
            unchanged = await asyncio.gather(
                *(watch.wait(1.5 * FALLBACK_SWEEP_S) for watch in watches)
            )
            await off_loop(Generation.objects.filter(id=ids[0]).update)(
                status=Generation.Status.FAILED
            )  # and no message: no Redis here
            moved = await asyncio.gather(
                *(watch.wait(2 * FALLBACK_SWEEP_S) for watch in watches[:2])
            )
            return unchanged, moved

    with override_settings(NOTIFY_REDIS_URL=""):
        unchanged, moved = async_to_sync(scenario)()

    assert unchanged == [False] * CALLS  # the sweep read the rows and found nothing new
    assert moved == [True, False]
    assert reads
    assert set(reads) == {CALLS}  # all the streams' rows in one query per sweep
