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
from generations.models import Generation, ProviderAccount
from generations.services import generation_submit
from generations.services.maintenance import generations_reap
from tests.integration.conftest import start_worker, stop_worker, wait_for_terminal, worker_log
from tests.services import REQUIRE_SERVICES

# Redeliver an abandoned task after 8 s (longer than a whole call takes, as in production where
# it exceeds the task time limit), looking for one every second.
RECOVERY_ENV = {"CELERY_VISIBILITY_TIMEOUT": "8", "CELERY_UNACKED_RESTORE_INTERVAL": "1"}

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def slow_local_account(default_prices) -> ProviderAccount:
    """The demo renderer taking 4 s per call: long enough to kill a worker mid-call."""
    return ProviderAccount.objects.create(
        kind="local",
        label="slow demo",
        models_served=["seedream-4.0"],
        options={"latency_s": 4},
    )


def kill_mid_call(user) -> tuple[Generation, int]:
    """Submit, wait until a worker is inside the provider call, then SIGKILL that worker."""
    available = CreditAccount.objects.get(user=user).available
    worker = start_worker(RECOVERY_ENV)
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


def test_a_killed_worker_is_recovered_by_redelivery(user, slow_local_account):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 needs CELERY_BROKER_URL=redis://…")
        pytest.skip("redelivery of an unacknowledged task needs the Redis broker")
    generation, available = kill_mid_call(user)

    replacement = start_worker(RECOVERY_ENV)
    try:
        finished = wait_for_terminal(generation.id, timeout_s=90)
    except AssertionError:
        raise AssertionError(worker_log(replacement)) from None
    finally:
        stop_worker(replacement)

    assert finished.status == Generation.Status.SUCCEEDED, finished.error_message
    outcomes = list(finished.attempts.order_by("id").values_list("error_code", "outcome"))
    assert outcomes == [("worker_lost", "failed"), ("", "succeeded")]
    assert CreditAccount.objects.get(user=user).available == available - finished.credits_charged
    assert finished.credits_charged == 30
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
