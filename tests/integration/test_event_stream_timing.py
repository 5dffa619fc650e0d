"""The event stream delivers each event when it happens, under the ASGI server.

A real uvicorn process and a real Celery worker, on PostgreSQL and Redis; the demo provider
takes 5 s per call. The first ``status`` event must arrive within 1 s of connecting, and each
``output`` event within 0.5 s of its image being stored (the row's ``created_at``, set just
before its INSERT commits). A reconnect with ``Last-Event-ID`` gets only the later events.
"""

import asyncio
import json
import time

import aiohttp
import pytest

from accounts.services.keys import api_key_create
from generations.models import OutputImage
from tests.conftest import funded_user
from tests.services import require_postgresql, require_redis

from .conftest import start_web_server, stop_web_server, worker_log

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

PROVIDER_LATENCY_S = 5.0
IMAGES = 3
FIRST_STATUS_LIMIT_S = 1.0
OUTPUT_DELIVERY_LIMIT_S = 0.5

Event = tuple[str, dict, str, float]  # name, data, id, arrival (wall clock)


async def read_events(response: aiohttp.ClientResponse) -> list[Event]:
    events: list[Event] = []
    fields: dict[str, str] = {}
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line:
            name, _, value = line.partition(": ")
            fields[name] = value
            continue
        if "event" in fields:
            events.append(
                (fields["event"], json.loads(fields["data"]), fields.get("id", ""), time.time())
            )
        fields = {}
    return events


async def scenario(base_url: str, key: str) -> tuple[str, float, list[Event], list[Event]]:
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
    async with aiohttp.ClientSession(
        base_url, headers=headers, timeout=aiohttp.ClientTimeout(total=60)
    ) as client:
        async with client.post(
            "/api/v1/generations",
            json={"model": "seedream-4.0", "prompt": "a tide pool", "num_images": IMAGES},
            headers={"Accept": "application/json"},
        ) as created:
            assert created.status == 201, await created.text()
            generation_id = (await created.json())["id"]
        connected = time.time()
        async with client.get(f"/api/v1/generations/{generation_id}/events") as response:
            assert response.status == 200
            events = await read_events(response)
        first_output_id = next(event_id for name, _, event_id, _ in events if name == "output")
        async with client.get(
            f"/api/v1/generations/{generation_id}/events",
            headers={"Last-Event-ID": first_output_id},
        ) as response:
            resumed = await read_events(response)
    return generation_id, connected, events, resumed


@pytest.fixture(autouse=True)
def _postgresql_and_redis() -> None:
    """Checked before the shared worker is asked for: without them the test skips at once."""
    require_postgresql()
    require_redis()


def test_each_event_is_delivered_when_it_happens(local_account, real_worker, capsys) -> None:
    local_account.options = {"latency_s": PROVIDER_LATENCY_S}
    local_account.save()
    key = api_key_create(user=funded_user(10_000), name="events").key

    web, base_url = start_web_server()
    try:
        generation_id, connected, events, resumed = asyncio.run(scenario(base_url, key))
    except BaseException:
        print(worker_log(web), worker_log(real_worker))
        raise
    finally:
        stop_web_server(web)

    names = [name for name, *_ in events]
    assert names[0] == "status"
    assert names.count("output") == IMAGES
    assert names[-1] == "status"
    assert events[-1][1]["status"] == "succeeded"
    first_status_s = events[0][3] - connected
    stored_at = {
        output.index: output.created_at.timestamp()
        for output in OutputImage.objects.filter(generation_id=generation_id)
    }
    delivery_s = [
        arrival - stored_at[data["index"]] for name, data, _, arrival in events if name == "output"
    ]
    statuses = [data["status"] for name, data, *_ in events if name == "status"]
    with capsys.disabled():
        print(
            f"\nevent stream: first status {first_status_s * 1000:.0f} ms after connecting "
            f"({events[0][1]['status']}); statuses {statuses}; "
            f"output events {', '.join(f'{s * 1000:.0f} ms' for s in delivery_s)} after each "
            f"image was stored (provider latency {PROVIDER_LATENCY_S:.0f} s)"
        )
    assert first_status_s < FIRST_STATUS_LIMIT_S
    assert all(0 <= seconds < OUTPUT_DELIVERY_LIMIT_S for seconds in delivery_s), delivery_s

    # Resumed after the first output: the later outputs and the end, nothing before.
    first_output_position = next(i for i, (name, *_) in enumerate(events) if name == "output")
    later = [(name, event_id) for name, _, event_id, _ in events[first_output_position + 1 :]]
    assert [(name, event_id) for name, _, event_id, _ in resumed] == later
