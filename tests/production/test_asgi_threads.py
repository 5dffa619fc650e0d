"""Under the ASGI server a waiting async view holds no thread: every middleware is async-capable.

A single sync-only middleware (WhiteNoise's own, for one) makes Django run each request through
a thread of its own, which an async view then holds for its whole wait; the control case shows
the test sees that.
"""

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, override_settings
from django.urls import path

CALLS = 20


class Gate:
    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.waiting = 0


gate: Gate | None = None


async def waiting_view(request: HttpRequest) -> HttpResponse:
    assert gate is not None
    gate.waiting += 1
    await gate.opened.wait()
    return HttpResponse("done")


urlpatterns = [path("wait/", waiting_view)]


def threads_while_waiting() -> tuple[int, int, list[int]]:
    """Of CALLS concurrent requests: how many reached the view together (within 3 s), the
    threads added meanwhile, and the answers' statuses once the view lets them go."""

    async def scenario() -> tuple[int, int, list[int]]:
        global gate
        gate = Gate()
        client = AsyncClient()
        before = threading.active_count()
        calls = [asyncio.create_task(client.get("/wait/")) for _ in range(CALLS)]
        for _ in range(300):
            if gate.waiting == CALLS:
                break
            await asyncio.sleep(0.01)
        reached, added = gate.waiting, threading.active_count() - before
        gate.opened.set()
        responses = await asyncio.gather(*calls)
        return reached, added, [response.status_code for response in responses]

    return async_to_sync(scenario)()


@override_settings(ROOT_URLCONF=__name__)
def test_waiting_async_requests_hold_no_thread_each() -> None:
    reached, added, statuses = threads_while_waiting()

    assert reached == CALLS  # all wait at once ...
    assert added < CALLS // 4  # ... holding no thread each
    assert statuses == [200] * CALLS


@override_settings(ROOT_URLCONF=__name__)
def test_control_a_sync_only_middleware_gives_each_waiting_request_a_thread() -> None:
    sync_only = [
        "whitenoise.middleware.WhiteNoiseMiddleware"
        if name == "seedream_site.static_files.StaticFilesMiddleware"
        else name
        for name in settings.MIDDLEWARE
    ]
    assert sync_only != settings.MIDDLEWARE
    with override_settings(MIDDLEWARE=sync_only):
        reached, added, statuses = threads_while_waiting()

    # Each request holds a thread while it waits (under the ASGI server, a thread of its own;
    # the test client's requests share one, so they wait one after another instead).
    assert added >= CALLS or reached < CALLS
    assert statuses == [200] * CALLS


@pytest.mark.django_db
@override_settings(WHITENOISE_USE_FINDERS=True)
def test_static_files_are_still_served(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"{settings.STATIC_URL}vendor/htmx-2.0.11.min.js")
    assert response.status_code == 200
    assert b"htmx" in b"".join(response.streaming_content)
