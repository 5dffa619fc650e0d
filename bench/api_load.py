"""Throughput and latency of the native API under concurrent clients.

One uvicorn process serves the platform, one Celery worker runs the generations against the
Ark emulator (its own process, zero latency), and C concurrent clients each loop for D
seconds: create a generation (`POST /api/v1/generations`), then poll it (`GET …/{id}`) until
it is finished. Prints one JSON line with requests/s and p50/p95 latency per kind of call; the
latency of a call is what the platform adds, since the provider answers at once.

    DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… python bench/api_load.py --clients 50
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from harness import django_ready, funded_user, only_account  # noqa: E402
from inflight import start_worker  # noqa: E402
from openai_wait import free_port, wait_for_port  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    arguments = parser.parse_args()

    django_ready(
        "seedream-api-load-", API_RATE_PER_KEY="1000000/min", API_RATE_PER_USER="1000000/min"
    )
    _, key = funded_user("load")
    emulator = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators.serve", "ark"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert emulator.stdout is not None
    _, base_url, ark_key = emulator.stdout.readline().split()
    only_account(
        kind="ark", base_url=f"{base_url}/api/v3", api_key=ark_key, model="seedream-3.0-t2i"
    )
    port = free_port()
    web = subprocess.Popen(
        [
            *[sys.executable, "-m", "uvicorn", "seedream_site.asgi:application"],
            *["--port", str(port), "--log-level", "warning", "--no-access-log"],
        ],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
    )
    worker = start_worker()
    try:
        wait_for_port(port)
        timings, finished, wall = asyncio.run(
            load(port, key, clients=arguments.clients, seconds=arguments.seconds)
        )
    finally:
        for process in (web, worker, emulator):
            process.terminate()
        for process in (web, worker, emulator):
            process.wait(timeout=30)
    calls = sum(len(values) for values in timings.values())
    print(
        json.dumps(
            {
                "clients": arguments.clients,
                "seconds": round(wall, 1),
                "requests": calls,
                "requests_per_s": round(calls / wall, 1),
                "generations_finished": finished,
                **{
                    f"{kind}_{name}_ms": value
                    for kind, values in timings.items()
                    for name, value in percentiles(values).items()
                },
                "database": os.environ.get("DATABASE_URL", "sqlite").split(":")[0],
                "broker": os.environ.get("CELERY_BROKER_URL", "filesystem").split(":")[0],
            }
        )
    )


async def load(
    port: int, key: str, *, clients: int, seconds: float
) -> tuple[dict[str, list[float]], int, float]:
    timings: dict[str, list[float]] = {"create": [], "poll": []}
    finished = 0
    headers = {"Authorization": f"Bearer {key}"}
    # aiohttp, as in openai_wait.py: the client shares the server's cores, and httpx's async
    # pool costs several times its CPU per call.
    connector = aiohttp.TCPConnector(limit=clients + 5)
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{port}",
        headers=headers,
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=120),
    ) as client:
        stop_at = time.monotonic() + seconds

        async def one_client(number: int) -> None:
            nonlocal finished
            while time.monotonic() < stop_at:
                started = time.monotonic()
                async with client.post(
                    "/api/v1/generations",
                    json={"model": "seedream-3.0-t2i", "prompt": f"c{number}", "size": "512x512"},
                ) as created:
                    generation_id = (await created.json())["id"]
                timings["create"].append(time.monotonic() - started)
                while time.monotonic() < stop_at + 60:
                    started = time.monotonic()
                    async with client.get(f"/api/v1/generations/{generation_id}") as polled:
                        status = (await polled.json())["status"]
                    timings["poll"].append(time.monotonic() - started)
                    if status in ("succeeded", "failed", "canceled"):
                        finished += 1
                        break
                    await asyncio.sleep(0.2)

        started = time.monotonic()
        await asyncio.gather(*(one_client(number) for number in range(clients)))
        wall = time.monotonic() - started
    return timings, finished, wall


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0}
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered) * 1000, 1),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
    }


if __name__ == "__main__":
    main()
