"""A worker killed with SIGKILL in the middle of a generation never strands it."""

import os
import signal
import time
from datetime import timedelta

import pytest
from django.conf import settings

from accounts.ledger import ledger_mismatches
from accounts.models import CreditAccount
from generations.catalog import GenerationSpec
from generations.models import Generation, ProviderAccount, ProviderAttempt
from generations.services import generation_submit
from generations.services.maintenance import generations_reap
from generations.services.provider_accounts import ProviderAccountInput, provider_account_create
from tests.emulators.replicate import ReplicateEmulator
from tests.factories import ProviderAccountFactory
from tests.integration.conftest import start_worker, stop_worker, wait_for_terminal, worker_log
from tests.services import REQUIRE_SERVICES

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def slow_local_account(default_prices) -> ProviderAccount:
    """The demo renderer taking 4 s per call: long enough to kill a worker mid-call."""
    return ProviderAccountFactory(label="slow demo", options={"latency_s": 4})


def kill_mid_call(user) -> tuple[Generation, int]:
    """Submit, wait until a worker is inside the provider call, then SIGKILL that worker."""
    available = CreditAccount.objects.get(user=user).available
    worker = start_worker()
    generation = generation_submit(
        user=user, spec=GenerationSpec(model="seedream-4.0", prompt="a storm", size="1K")
    )
    deadline = time.monotonic() + 60
    while not generation.attempts.exists():
        if time.monotonic() > deadline:
            raise AssertionError(worker_log(worker))
        time.sleep(0.1)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    generation.refresh_from_db()
    assert generation.status == Generation.Status.RUNNING
    return generation, available


def test_three_generations_of_a_killed_worker_are_back_within_a_minute(user, default_prices):
    """kill -9 with three generations in flight: two jobs submitted to Replicate and one call
    open at a synchronous provider. With the default leases (no shortened broker timeouts),
    within 60 s of a new worker starting each is terminal or running again; the jobs are
    resumed by polling (never submitted twice), the open synchronous call is never sent again
    (it fails with the reason and nothing is charged), and the ledger checks clean."""
    if not settings.CELERY_BROKER_URL.startswith("redis://") and REQUIRE_SERVICES:
        pytest.fail("REQUIRE_SERVICES=1 needs CELERY_BROKER_URL=redis://…")
    # Leases at their defaults: recovery must not lean on shortened broker timeouts.
    assert settings.GENERATION_LEASE_S == 30
    emulator = ReplicateEmulator(job_seconds=15)
    with emulator.serve():
        provider_account_create(
            data=ProviderAccountInput(
                kind="replicate",
                label="replicate team",
                base_url=f"{emulator.base_url}/v1",
                api_key=emulator.api_key,
                models=["seedream-4.0"],
            ),
            actor=None,
        )
        ProviderAccountFactory(
            label="slow demo", models_served=["seedream-4.5"], options={"latency_s": 60}
        )
        available = CreditAccount.objects.get(user=user).available
        worker = start_worker()
        jobs = [
            generation_submit(
                user=user,
                spec=GenerationSpec(
                    model="seedream-4.0", prompt=f"job {n}", size="1K", num_images=n
                ),
            )
            for n in (1, 2)
        ]
        sync = generation_submit(
            user=user, spec=GenerationSpec(model="seedream-4.5", prompt="a storm", size="2K")
        )
        in_flight = [*jobs, sync]
        deadline = time.monotonic() + 60
        while not (
            ProviderAttempt.objects.filter(generation__in=jobs).exclude(job_state={}).count() == 2
            and ProviderAttempt.objects.filter(generation=sync).exists()
        ):
            if time.monotonic() > deadline:
                raise AssertionError(worker_log(worker))
            time.sleep(0.1)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        killed_at = time.monotonic()
        polls_at_kill = dict(
            ProviderAttempt.objects.filter(generation__in=jobs).values_list("generation", "polls")
        )

        replacement = start_worker()
        started_at = time.monotonic()
        back_after: dict[str, float] = {}
        try:
            while len(back_after) < 3 and time.monotonic() - started_at < 60:
                for generation in Generation.objects.filter(id__in=[g.id for g in in_flight]):
                    if str(generation.id) in back_after:
                        continue
                    polled_again = (
                        ProviderAttempt.objects.filter(generation=generation)
                        .exclude(job_state={})
                        .filter(polls__gt=polls_at_kill.get(generation.id, 0))
                        .exists()
                    )
                    if generation.is_terminal or polled_again:
                        back_after[str(generation.id)] = time.monotonic() - started_at
                time.sleep(0.2)
            assert len(back_after) == 3, (back_after, worker_log(replacement))
            finished = {
                generation.id: wait_for_terminal(generation.id, timeout_s=60)
                for generation in in_flight
            }
        finally:
            stop_worker(replacement)

    print(
        "\ncrash recovery: killed -> new worker started {:.1f} s; back after (s): {}".format(
            started_at - killed_at,
            {f"{n}": round(seconds, 1) for n, seconds in enumerate(back_after.values())},
        )
    )
    for job in jobs:
        assert finished[job.id].status == Generation.Status.SUCCEEDED, finished[
            job.id
        ].error_message
        assert finished[job.id].outputs.count() == job.num_images
    lost = finished[sync.id]
    assert (lost.status, lost.error_code) == (Generation.Status.FAILED, "worker_lost")
    assert "not sent again" in lost.error_message
    # No call sent twice: one create per job at Replicate, one call for the synchronous one.
    creates = [r for r in emulator.requests if r.method == "POST" and "cancel" not in r.path]
    assert len(creates) == 2
    assert ProviderAttempt.objects.filter(generation=sync).count() == 1
    charged = sum(generation.credits_charged for generation in finished.values())
    assert charged == 3 * 30
    assert CreditAccount.objects.get(user=user).available == available - charged
    assert CreditAccount.objects.get(user=user).held == 0
    assert not ledger_mismatches()


def test_a_killed_worker_past_the_deadline_is_reaped(user, slow_local_account, settings):
    generation, available = kill_mid_call(user)
    settings.GENERATION_DEADLINE_S = 0
    Generation.objects.filter(id=generation.id).update(
        started_at=generation.started_at - timedelta(minutes=5)
    )

    assert generations_reap()["expired"] == 1

    generation.refresh_from_db()
    assert generation.status == Generation.Status.FAILED
    assert generation.error_code == "deadline_exceeded"
    assert CreditAccount.objects.get(user=user).available == available
    assert not ledger_mismatches()
