"""A client that goes away ends its event stream: under the ASGI handler the stream is
cancelled at its wait, leaves the process's watches, and nothing more is read for it."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIHandler
from django.test import override_settings

from generations.api import events as events_module
from generations.messaging import notifications
from generations.models import Generation
from tests.api.conftest import key_client
from tests.factories import GenerationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_client_gone_cancels_its_stream_and_nothing_more_is_read(user, monkeypatch) -> None:
    generation = GenerationFactory(owner=user, status=Generation.Status.RUNNING)
    key = key_client(user)._credentials["HTTP_AUTHORIZATION"]
    generation_id = str(generation.id)
    reads: list[str] = []
    read = events_module._events_after

    def counted(**kwargs):
        reads.append(kwargs["generation_id"])
        return read(**kwargs)

    monkeypatch.setattr(events_module, "_events_after", counted)

    async def scenario() -> tuple[int, int, list[dict], bool]:
        first_event, gone = asyncio.Event(), asyncio.Event()
        sent: list[dict] = []
        request = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict:
            if request:
                return request.pop()
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)
            if message.get("body"):
                first_event.set()

        path = f"/api/v1/generations/{generation_id}/events"
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"authorization", key.encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        served = asyncio.create_task(ASGIHandler()(scope, receive, send))
        await asyncio.wait_for(first_event.wait(), 10)
        waiters = await notifications._waiters()
        watching = len(waiters.watches.get(generation_id, ()))
        gone.set()
        await asyncio.wait_for(served, 10)
        reads_at_close = len(reads)
        # Sweeps would have read the row (and woken a live stream) meanwhile.
        await asyncio.sleep(3 * notifications.FALLBACK_SWEEP_S)
        bodies = [message for message in sent if message["type"] == "http.response.body"]
        still_watched = generation_id in waiters.watches or waiters._sweeper is not None
        return watching, reads_at_close, bodies, still_watched

    with override_settings(NOTIFY_REDIS_URL=""):
        watching, reads_at_close, bodies, still_watched = async_to_sync(scenario)()

    assert watching == 1  # the stream was waiting on the generation ...
    assert not still_watched  # ... and left when its client went away
    assert len(reads) == reads_at_close == 1  # nothing read for it after
    assert bodies[0]["body"].startswith(b"id: 1-0\nevent: status\n")
    assert all(message.get("more_body", False) for message in bodies)  # never ended normally
