"""Throughput and latency of the native API under concurrent clients.

One uvicorn process serves the platform, one Celery worker runs the generations against the
Ark emulator (its own process, zero latency), and C concurrent clients each loop for D
seconds: create a generation (`POST /api/v1/generations`), then poll it (`GET …/{id}`) until
it is finished. Prints one JSON line with requests/s and p50/p95 latency per kind of call; the
latency of a call is what the platform adds, since the provider answers at once.

    DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… python bench/api_load.py --clients 50

With ``--budgets`` the same run alternates rounds of two callers: one charging their own
wallet with no budget, and one whose key is bound to a team, with the team's monthly budget,
their member budget and the key's budget all applying (limits high enough never to refuse).
It prints each one's create p50/p95 and their ratios: what checking and holding three budgets
costs a create.
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
    parser.add_argument(
        "--budgets",
        action="store_true",
        help="compare creates with a team, a member and a key budget applying to creates "
        "without any, in alternating rounds of --seconds each",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds per caller (--budgets)")
    arguments = parser.parse_args()

    django_ready(
        "seedream-api-load-", API_RATE_PER_KEY="1000000/min", API_RATE_PER_USER="1000000/min"
    )
    _, key = funded_user("load")
    budgeted_key = team_key_with_budgets() if arguments.budgets else ""
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
        if arguments.budgets:
            compared = asyncio.run(
                compare(
                    port,
                    {"no_budgets": key, "three_budgets": budgeted_key},
                    clients=arguments.clients,
                    seconds=arguments.seconds,
                    rounds=arguments.rounds,
                )
            )
        else:
            timings, finished, wall = asyncio.run(
                load(port, key, clients=arguments.clients, seconds=arguments.seconds)
            )
    finally:
        for process in (web, worker, emulator):
            process.terminate()
        for process in (web, worker, emulator):
            process.wait(timeout=30)
    if arguments.budgets:
        print(json.dumps({"clients": arguments.clients, **compared, **services()}))
        return
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
                **services(),
            }
        )
    )


def services() -> dict[str, str]:
    return {
        "database": os.environ.get("DATABASE_URL", "sqlite").split(":")[0],
        "broker": os.environ.get("CELERY_BROKER_URL", "filesystem").split(":")[0],
    }


def team_key_with_budgets() -> str:
    """A team member's key bound to the team, with the team's, the member's and the key's
    budgets all applying (limits far above what a run spends)."""
    from accounts.models import Budget
    from accounts.services.budget_admin import budget_set
    from accounts.services.credits import credits_grant, team_wallet_for
    from accounts.services.keys import api_key_create
    from accounts.services.teams import team_create, team_member_set

    member, _ = funded_user("load-team")
    suffix = os.urandom(4).hex()
    team = team_create(name=f"Load {suffix}", slug=f"load-{suffix}", actor=None)
    team_member_set(team=team, user=member, role="member", actor=None)
    credits_grant(
        wallet=team_wallet_for(team), amount=1_000_000_000, actor=None, memo="benchmark budget"
    )
    issued = api_key_create(user=member, name="team benchmark")
    issued.api_key.team = team
    issued.api_key.save(update_fields=["team"])
    limit = 1_000_000_000
    budget_set(scope=Budget.Scope.TEAM, team=team, limit=limit, actor=None)
    budget_set(scope=Budget.Scope.MEMBER, team=team, user=member, limit=limit, actor=None)
    budget_set(scope=Budget.Scope.KEY, api_key=issued.api_key, limit=limit, actor=None)
    return issued.key


async def compare(
    port: int, keys: dict[str, str], *, clients: int, seconds: float, rounds: int
) -> dict[str, float | int]:
    """Alternate rounds of each caller (A B A B …), so drift on a shared machine falls on both;
    their creates' p50/p95 and the ratios of the second to the first."""
    creates: dict[str, list[float]] = {name: [] for name in keys}
    for _ in range(rounds):
        for name, key in keys.items():
            timings, _, _ = await load(port, key, clients=clients, seconds=seconds)
            creates[name].extend(timings["create"])
    figures: dict[str, float | int] = {"rounds": rounds, "seconds_per_round": seconds}
    for name, values in creates.items():
        figures[f"{name}_creates"] = len(values)
        for statistic, value in percentiles(values).items():
            figures[f"{name}_create_{statistic}_ms"] = value
    first, second = list(keys)
    for statistic in ("p50", "p95"):
        base = figures[f"{first}_create_{statistic}_ms"]
        figures[f"ratio_{statistic}"] = (
            round(figures[f"{second}_create_{statistic}_ms"] / base, 3) if base else 0.0
        )
    return figures


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
