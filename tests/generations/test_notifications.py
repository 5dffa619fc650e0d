"""Waiting calls are woken by the worker's "finished" message, through one Redis subscription
per process however many calls wait."""

import asyncio
import time

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from django.test import override_settings

from generations.models import Generation
from generations.notifications import (
    RECHECK_S,
    generation_wait_terminal_async,
    notify_finished,
)
from tests.services import require_redis

pytestmark = pytest.mark.django_db(transaction=True)

CALLS = 20


def pattern_subscribers(client: redis.Redis) -> int:
    return sum(1 for entry in client.client_list(_type="pubsub") if int(entry.get("psub", 0)))


def test_waiting_calls_wake_at_the_finish_and_share_one_subscription(user) -> None:
    url = require_redis()
    observer = redis.Redis.from_url(url)
    ids = [
        str(
            Generation.objects.create(
                owner=user,
                model="seedream-4.0",
                prompt=f"waiting {number}",
                params={},
                num_images=1,
                status=Generation.Status.RUNNING,
            ).id
        )
        for number in range(CALLS)
    ]

    def finish_all() -> None:
        Generation.objects.filter(id__in=ids).update(status=Generation.Status.SUCCEEDED)
        for generation_id in ids:
            notify_finished(generation_id)

    async def scenario() -> tuple[int, int, list[bool], float]:
        before = pattern_subscribers(observer)
        waits = [
            asyncio.create_task(
                generation_wait_terminal_async(generation_id=generation_id, timeout_s=30)
            )
            for generation_id in ids
        ]
        await asyncio.sleep(0.5)
        during = pattern_subscribers(observer)
        assert not any(wait.done() for wait in waits)
        started = time.monotonic()
        await sync_to_async(finish_all, thread_sensitive=False)()
        finished = await asyncio.gather(*waits)
        return before, during, finished, time.monotonic() - started

    with override_settings(NOTIFY_REDIS_URL=url):
        before, during, finished, woken_after_s = async_to_sync(scenario)()

    assert finished == [True] * CALLS
    assert during - before == 1  # one subscription for all the waiting calls
    assert woken_after_s < RECHECK_S / 2  # woken by the message, not by re-reading the rows


def test_without_redis_a_waiting_call_reads_its_row(user) -> None:
    generation = Generation.objects.create(
        owner=user, model="seedream-4.0", prompt="p", params={}, num_images=1,
        status=Generation.Status.RUNNING,
    )  # fmt: skip

    async def scenario() -> tuple[bool, bool]:
        unfinished = await generation_wait_terminal_async(
            generation_id=str(generation.id), timeout_s=0.3
        )
        await sync_to_async(
            Generation.objects.filter(id=generation.id).update, thread_sensitive=False
        )(status=Generation.Status.FAILED)
        ended = await generation_wait_terminal_async(generation_id=str(generation.id), timeout_s=5)
        return unfinished, ended

    with override_settings(NOTIFY_REDIS_URL=""):
        assert async_to_sync(scenario)() == (False, True)
