"""Provider calls answered in the response wait on the worker's event loop, not on its threads.

A real worker with 2 task threads and an Ark emulator that answers each call after 3 s: 24
generations finish in about one call's time. Were each call to hold a thread, as it did, 2
threads would need 12 rounds (36 s). With the loop turned off (PROVIDER_CALLS_ON_LOOP=false)
the same worker shows that slower path, so the figure is the loop's doing.
"""

import time

import pytest

from generations.catalog import GenerationSpec
from generations.models import Generation
from generations.services import generation_submit
from tests.conftest import funded_user
from tests.emulators.ark import ArkEmulator

from .conftest import start_worker, stop_worker, wait_for_terminal, worker_log
from .test_provider_e2e import ARK_KEY, ark_account

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CALLS = 24
LATENCY_S = 3.0
THREADS = 2


def run_all(*, on_loop: bool) -> tuple[float, list[Generation]]:
    worker = start_worker(
        {"PROVIDER_CALLS_ON_LOOP": "true" if on_loop else "false"}, concurrency=THREADS
    )
    user = funded_user(100_000)
    try:
        started = time.monotonic()
        generations = [
            generation_submit(
                user=user,
                spec=GenerationSpec(model="seedream-4.0", prompt=f"tide {n}", size="1K"),
            )
            for n in range(CALLS)
        ]
        finished = [wait_for_terminal(g.id, timeout_s=120) for g in generations]
        return time.monotonic() - started, finished
    except BaseException:
        print(worker_log(worker))
        raise
    finally:
        stop_worker(worker)


def test_calls_hold_no_worker_thread(user, default_prices, capsys):
    emulator = ArkEmulator(flavour="byteplus", api_key=ARK_KEY, latency_s=LATENCY_S)
    with emulator.serve() as base_url:
        ark_account("BytePlus", base_url, priority=1)
        on_loop_s, on_loop = run_all(on_loop=True)
        threaded_s, threaded = run_all(on_loop=False)

    with capsys.disabled():
        print(
            f"\n{CALLS} calls of {LATENCY_S:.0f} s on {THREADS} task threads: "
            f"{on_loop_s:.1f} s on the event loop, {threaded_s:.1f} s holding threads"
        )
    for generation in [*on_loop, *threaded]:
        assert generation.status == Generation.Status.SUCCEEDED, generation.error_message
        assert generation.outputs.count() == 1
    assert on_loop_s < CALLS / THREADS * LATENCY_S / 3
    assert threaded_s > CALLS / THREADS * LATENCY_S * 0.9
