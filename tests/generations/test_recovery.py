"""Lost runs: a lapsed lease is resumed, failed or requeued by how far the run got; a live one
is left alone. (The end-to-end proof with a killed worker is tests/integration.)"""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.ledger import ledger_mismatches
from accounts.models import CreditAccount
from generations.catalog import GenerationSpec
from generations.models import Generation, ProviderAttempt
from generations.runtime import leases
from generations.services import generation_run, generation_submit
from generations.services.lifecycle import generation_start
from generations.services.recovery import generation_recover, generations_recover_lost
from generations.tasks import worker
from tests.factories import OutputImageFactory, ProviderAttemptFactory

pytestmark = pytest.mark.django_db


def running(user, *, num_images: int = 2) -> Generation:
    generation = generation_submit(
        user=user,
        spec=GenerationSpec(
            model="seedream-4.0", prompt="a lantern", size="1K", num_images=num_images
        ),
    )
    return generation_start(generation_id=str(generation.id))


def lapse(generation: Generation) -> None:
    Generation.objects.filter(id=generation.id).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


def open_call(generation: Generation, account, **fields) -> ProviderAttempt:
    return ProviderAttemptFactory(generation=generation, account=account, **fields)


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, dict]]:
    """Tasks sent to the broker, recorded instead of run."""
    calls: list[tuple[str, dict]] = []

    def task_send(name, *, kwargs, countdown=None):
        calls.append((name, kwargs))
        return True

    monkeypatch.setattr("generations.runtime.dispatch.task_send", task_send)
    return calls


def test_a_live_lease_is_left_alone_even_by_a_redelivered_task(user, local_account, sent):
    generation = running(user)
    open_call(generation, local_account)
    generation_run(generation_id=str(generation.id))  # the broker redelivers while it runs
    assert generation_recover(generation_id=str(generation.id)) is None
    generation.refresh_from_db()
    assert generation.status == "running"
    assert ProviderAttempt.objects.get(generation=generation).outcome == "running"
    assert sent == []


def test_an_open_call_at_a_synchronous_provider_is_never_sent_again(
    user, local_account, sent, django_capture_on_commit_callbacks
):
    """The provider may have taken the call: sending it again could charge twice. The
    generation ends with the reason and pays only for the image that reached storage."""
    available = CreditAccount.objects.get(user=user).available
    generation = running(user)
    open_call(generation, local_account)
    OutputImageFactory(generation=generation, index=0)
    lapse(generation)

    with django_capture_on_commit_callbacks(execute=True):
        generation_run(generation_id=str(generation.id))  # a redelivered task, or the sweep

    generation.refresh_from_db()
    assert generation.status == "partial"
    assert generation.error_code == "worker_lost"
    assert "not sent again" in generation.error_message
    assert ProviderAttempt.objects.filter(generation=generation).count() == 1  # no second call
    assert ProviderAttempt.objects.get(generation=generation).error_code == "worker_lost"
    assert generation.credits_charged == generation.price_per_image
    assert CreditAccount.objects.get(user=user).available == available - generation.price_per_image
    assert not [name for name, _ in sent if name == "generations.run_generation"]
    assert not ledger_mismatches()


def test_a_run_lost_before_any_call_is_queued_again_and_runs(
    user, local_account, django_capture_on_commit_callbacks
):
    generation = running(user)
    lapse(generation)
    with django_capture_on_commit_callbacks(execute=True):
        assert generations_recover_lost() == {"resumed": 0, "failed": 0, "requeued": 1}
    generation.refresh_from_db()
    assert generation.status == "succeeded"  # requeued, dispatched, and (eagerly) run
    assert generation.dispatched_at is not None
    assert ProviderAttempt.objects.filter(generation=generation).count() == 1
    assert not ledger_mismatches()


def test_a_submitted_job_is_resumed_by_polling_not_submitted_again(
    user, local_account, sent, django_capture_on_commit_callbacks
):
    generation = running(user)
    job = open_call(generation, local_account, provider_request_id="job-7", job_state={"id": 7})
    ProviderAttempt.objects.filter(pk=job.pk).update(polls=3)
    lapse(generation)
    with django_capture_on_commit_callbacks(execute=True):
        assert generations_recover_lost() == {"resumed": 1, "failed": 0, "requeued": 0}
    assert sent == [
        (
            "generations.poll_generation",
            {
                "generation_id": str(generation.id),
                "attempt_id": job.pk,
                "poll": 3,
                "typical_job_s": None,
            },
        )
    ]
    generation.refresh_from_db()
    assert generation.status == "running"
    assert generation.lease_expires_at > timezone.now()  # not swept again at once


def test_the_housekeeping_renews_only_this_process_s_generations(user, local_account):
    mine, others = running(user), running(user)
    lapse(mine)
    lapse(others)
    with leases.lease_kept(str(mine.id)):
        assert worker.leases_renew() == 1
    mine.refresh_from_db()
    others.refresh_from_db()
    assert mine.lease_expires_at > timezone.now()
    assert others.lease_expires_at < timezone.now()
    assert worker.leases_renew() == 0  # nothing held any more
