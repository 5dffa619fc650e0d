"""Many OpenAI-compatible calls waiting at once on ONE web process (ASGI, no thread per call).

Starts the job-provider emulator (jobs take L seconds) in its own process, one Celery worker,
and one uvicorn process serving the platform; fires N concurrent `POST /v1/images/generations`
calls and prints one JSON line: {"n", "latency_s", "wall_s", "ratio", ...}, ratio = wall / L,
the median over --repeat rounds (each round's figures are listed too). The first round meets
an account without job history; later ones are polled by the account's typical job time (see
generations/services/poll_schedule.py), as a running installation is. A server holding a
thread per waiting call would need N threads; this one holds none.

    python bench/openai_wait.py --n 200 --latency 10

Uses a throwaway embedded default unless DATABASE_URL / CELERY_BROKER_URL name other services
(with Redis, waiting calls are woken by pub/sub; otherwise they re-read the row every second).
"""

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from harness import django_ready, funded_user, only_account, wall_figures  # noqa: E402
from inflight import EMULATOR_URL_SUFFIX, start_emulator, start_worker  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--latency", type=float, default=10.0, help="seconds per provider job")
    parser.add_argument("--provider", default="replicate", choices=sorted(EMULATOR_URL_SUFFIX))
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median is reported")
    arguments = parser.parse_args()

    # The benchmark's own callers must not be throttled.
    django_ready(
        "seedream-openai-bench-", API_RATE_PER_KEY="100000/min", API_RATE_PER_USER="100000/min"
    )
    _, key = funded_user("openai-bench")
    emulator, base_url, api_key = start_emulator(arguments.provider, arguments.latency)
    only_account(
        kind=arguments.provider,
        base_url=f"{base_url}{EMULATOR_URL_SUFFIX[arguments.provider]}",
        api_key=api_key,
        model="seedream-4.0",
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
        rounds = [asyncio.run(fire(port, key, arguments.n)) for _ in range(arguments.repeat)]
    finally:
        for process in (web, worker, emulator):
            process.terminate()
        for process in (web, worker, emulator):
            process.wait(timeout=30)
    walls = [wall for _, _, wall in rounds]
    print(
        json.dumps(
            {
                **wall_figures(n=arguments.n, latency_s=arguments.latency, walls=walls),
                "succeeded": [len(durations) for durations, _, _ in rounds],
                "failed": [failures for _, failures, _ in rounds],
                "call_p50_s": [
                    round(statistics.median(durations), 3) if durations else None
                    for durations, _, _ in rounds
                ],
                "web_processes": 1,
                "provider": arguments.provider,
                "broker": os.environ.get("CELERY_BROKER_URL", "filesystem://").split(":")[0],
            }
        )
    )


async def fire(port: int, key: str, n: int) -> tuple[list[float], dict[str, int], float]:
    # aiohttp, not httpx: the client shares the server's two cores here, and httpx's async
    # connection pool spent ~5 ms of CPU per call at 200 connections (aiohttp: ~0.5 ms).
    connector = aiohttp.TCPConnector(limit=n + 10)
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{port}", connector=connector, timeout=aiohttp.ClientTimeout(total=600)
    ) as client:

        async def one(number: int) -> tuple[float, int]:
            started = time.monotonic()
            async with client.post(
                "/v1/images/generations",
                headers={"Authorization": f"Bearer {key}"},
                json={"model": "seedream-4.0", "prompt": f"bench {number}", "size": "1K"},
            ) as response:
                await response.read()
                return time.monotonic() - started, response.status

        started = time.monotonic()
        results = await asyncio.gather(*(one(number) for number in range(n)))
        wall = time.monotonic() - started
    durations = [elapsed for elapsed, status in results if status == 200]
    failures: dict[str, int] = {}
    for _, status in results:
        if status != 200:
            failures[str(status)] = failures.get(str(status), 0) + 1
    return durations, failures, wall


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the web server did not start")


if __name__ == "__main__":
    main()
