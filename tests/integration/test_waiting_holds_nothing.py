"""Waiting calls hold no database connection and no thread: with the web process's pool at its
production size, hundreds of long-polls and event streams wait while another user's calls are
answered at once, and every waiting call is answered when its generation ends.

A real uvicorn process on the production settings, against PostgreSQL and Redis; the
generations are made RUNNING in the database (no worker) and ended by this test, which
publishes their end as the lifecycle does after commit.
"""

import asyncio
import json
import statistics
import time

import aiohttp
import pytest
from django.db import connection
from django.utils import timezone

from accounts.services.credits import credit_account_for
from accounts.services.keys import api_key_create
from generations.messaging.notifications import notify_finished
from generations.models import Generation
from tests.conftest import funded_user
from tests.services import require_postgresql, require_redis

from .conftest import start_web_server, stop_shared_worker, stop_web_server, worker_log

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

WAITS = 200
STREAMS = 200
# Waiting calls are spread over a few keys, each well inside the default rate limits
# (120/min per key, 240/min per user); the latency probe is another user's.
WAITING_USERS = 4
ME_CALLS = 20
ME_MEDIAN_LIMIT_S = 0.25
# The web process's threads while everything waits: asyncio's shared pool (at most 32), the
# database pool's workers, a few of uvicorn's; a thread per waiting call would be hundreds.
THREADS_LIMIT = 64


def running_generations(owner, count: int) -> list[str]:
    now = timezone.now()
    wallet = credit_account_for(owner)
    generations = Generation.objects.bulk_create(
        Generation(
            owner=owner,
            wallet=wallet,
            model="seedream-4.0",
            prompt=f"waiting {number}",
            params={},
            num_images=1,
            status=Generation.Status.RUNNING,
            started_at=now,
        )
        for number in range(count)
    )
    return [str(generation.id) for generation in generations]


def threads_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("Threads:"))
    return int(line.split()[1])


def key_of(user) -> str:
    return api_key_create(user=user, name="waiting").key


async def long_poll(client: aiohttp.ClientSession, key: str, generation_id: str) -> tuple:
    async with client.get(
        f"/api/v1/generations/{generation_id}?wait=60",
        headers={"Authorization": f"Bearer {key}"},
    ) as response:
        body = await response.text()
        return response.status, body


async def stream(
    client: aiohttp.ClientSession, key: str, generation_id: str, opened: asyncio.Event
) -> tuple[int, list[tuple[str, dict]]]:
    """The stream's events; ``opened`` is set at its first event (it is then watching)."""
    events: list[tuple[str, dict]] = []
    async with client.get(
        f"/api/v1/generations/{generation_id}/events",
        headers={"Authorization": f"Bearer {key}", "Accept": "text/event-stream"},
    ) as response:
        if response.status != 200:
            return response.status, events
        name = ""
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
                opened.set()
        return response.status, events


async def scenario(web_pid: int, base_url: str, waiting: list, me_key: str, finish) -> tuple:
    """``waiting``: (kind, key, generation id). Gives the ``me`` latencies, the web process's
    threads while all wait, the waiting calls answered before the end (none should be), and
    every waiting call's result."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as client:
        opened = [asyncio.Event() for _ in waiting]
        calls = [
            asyncio.create_task(
                long_poll(client, key, generation_id)
                if kind == "wait"
                else stream(client, key, generation_id, opened[number])
            )
            for number, (kind, key, generation_id) in enumerate(waiting)
        ]
        streams = [opened[n] for n, (kind, _, _) in enumerate(waiting) if kind == "stream"]
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in streams)), 60)
        await asyncio.sleep(2)  # the long-polls, sent first, are past their first read too
        answered_early = [call.result() for call in calls if call.done()]
        threads = threads_of(web_pid)

        latencies = []
        for _ in range(ME_CALLS):
            started = time.perf_counter()
            async with client.get(
                "/api/v1/me", headers={"Authorization": f"Bearer {me_key}"}
            ) as response:
                await response.read()
                assert response.status == 200, await response.text()
            latencies.append(time.perf_counter() - started)

        await asyncio.to_thread(finish)
        results = await asyncio.wait_for(asyncio.gather(*calls), 60)
    return latencies, threads, answered_early, results


def test_waiting_calls_hold_no_connection_while_others_are_served(capsys) -> None:
    require_postgresql()
    redis_url = require_redis()
    # No worker may run meanwhile: its recovery sweep would take up these generations, which
    # are running without a run or a lease of their own (the shared one starts again after).
    stop_shared_worker()
    waiting_users = [funded_user(0) for _ in range(WAITING_USERS)]
    waiting: list[tuple[str, str, str]] = []
    for user in waiting_users:
        key = key_of(user)
        waits = running_generations(user, WAITS // WAITING_USERS)
        streams = running_generations(user, STREAMS // WAITING_USERS)
        waiting += [("wait", key, generation_id) for generation_id in waits]
        waiting += [("stream", key, generation_id) for generation_id in streams]
    me_key = key_of(funded_user(100))
    ids = [generation_id for _, _, generation_id in waiting]

    def finish() -> None:
        Generation.objects.filter(id__in=ids).update(
            status=Generation.Status.SUCCEEDED, finished_at=timezone.now()
        )
        for generation_id in ids:
            notify_finished(generation_id)
        connection.close()  # this thread's own, which would outlive the test database

    # The pool at its production size: the settings' default, no DATABASE_POOL_MAX_SIZE.
    web, base_url = start_web_server({"NOTIFY_REDIS_URL": redis_url})
    try:
        latencies, threads, answered_early, results = asyncio.run(
            scenario(web.pid, base_url, waiting, me_key, finish)
        )
    except BaseException:
        print(worker_log(web))
        raise
    finally:
        stop_web_server(web)

    median = statistics.median(latencies)
    with capsys.disabled():
        print(
            f"\n{WAITS} long-polls + {STREAMS} event streams waiting: GET /api/v1/me median "
            f"{median * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms over {ME_CALLS} calls; "
            f"web process threads {threads}"
        )
    assert answered_early == []  # every waiting call was still waiting
    assert median < ME_MEDIAN_LIMIT_S
    assert threads < THREADS_LIMIT
    for (kind, _, generation_id), (status, answer) in zip(waiting, results, strict=True):
        assert status == 200, (kind, status, answer)
        if kind == "wait":
            body = json.loads(answer)
            assert (body["id"], body["status"]) == (generation_id, "succeeded")
        else:
            name, data = answer[-1]
            assert (name, data["id"], data["status"]) == ("status", generation_id, "succeeded")
