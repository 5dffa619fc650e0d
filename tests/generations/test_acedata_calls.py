"""Ace Data Cloud's sync mode is a call awaited on the worker's event loop: the task thread
that starts the generation is free as soon as the call is sent, and no thread waits the
minute or two Ace holds the call open."""

import time
from collections.abc import Iterator

import pytest

from generations.catalog import GenerationSpec
from generations.models import Generation
from generations.providers.acedata import AceDataCallAdapter
from generations.providers.calls import CallLoop
from generations.services import generation_submit
from generations.services.run import generation_run
from tests.emulators.acedata import AceDataEmulator
from tests.integration.conftest import wait_for_terminal
from tests.providers.acedata_support import ace_account

# The call's outcomes are stored by finisher threads, which see only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)

HELD_S = 1.0  # how long the emulator holds the sync call open, as Ace does until it is done


@pytest.fixture
def call_loop(monkeypatch) -> Iterator[CallLoop]:
    """A worker's provider-call loop for this test alone, stopped after it."""
    loop = CallLoop()
    loop.start()
    monkeypatch.setattr("generations.services.run.CALL_LOOP", loop)
    yield loop
    loop.stop()


def test_a_sync_ace_generation_waits_on_the_event_loop(
    user, default_prices, call_loop, monkeypatch
):
    def no_thread_may_wait(*args, **kwargs):
        raise AssertionError("the sync call ran in a thread, not on the event loop")

    monkeypatch.setattr(AceDataCallAdapter, "generate", no_thread_may_wait)
    emulator = AceDataEmulator()
    emulator.faults.add("latency", seconds=HELD_S, path="/seedream/images")
    with emulator.serve() as base_url:
        ace_account(emulator, base_url)
        generation = generation_submit(
            user=user,
            spec=GenerationSpec(model="seedream-4.0", prompt="a lighthouse", size="2K"),
        )
        started = time.monotonic()
        generation_run(generation_id=str(generation.id))
        handed_over_s = time.monotonic() - started
        generation = wait_for_terminal(generation.id, timeout_s=30)

    assert generation.status == Generation.Status.SUCCEEDED, generation.error_message
    assert generation.outputs.count() == 1
    # The task thread left before Ace answered: the held call waited on the loop.
    assert handed_over_s < HELD_S
    assert call_loop.in_flight() == 0
