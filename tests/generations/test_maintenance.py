"""Periodic jobs: the reaper, duplicate polls, and removal of deleted generations' files."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import CreditAccount
from generations.catalog import GenerationSpec
from generations.models import Generation, ProviderAttempt
from generations.services import generation_submit
from generations.services.maintenance import deleted_generation_files_remove, generations_reap
from generations.services.polling import generation_poll
from tests.factories import ProviderAttemptFactory

pytestmark = pytest.mark.django_db


def submit(user, prompt="a quiet bay", num_images=2) -> Generation:
    return generation_submit(
        user=user,
        spec=GenerationSpec(model="seedream-4.0", prompt=prompt, size="1K", num_images=num_images),
    )


def age(generation: Generation, *, seconds: float, status: str) -> None:
    past = timezone.now() - timedelta(seconds=seconds)
    Generation.objects.filter(id=generation.id).update(
        status=status, created_at=past, started_at=past if status == "running" else None
    )


def test_reaper_fails_a_stranded_running_generation_and_returns_its_credits(
    user, local_account, settings
):
    available = CreditAccount.objects.get(user=user).available
    generation = submit(user)  # queued (the task never ran: the worker died)
    age(generation, seconds=settings.GENERATION_DEADLINE_S + 120, status="running")
    ProviderAttemptFactory(generation=generation, account=local_account)

    assert generations_reap() == {"expired": 1, "redispatched": 0}

    generation.refresh_from_db()
    assert generation.status == Generation.Status.FAILED
    assert generation.error_code == "deadline_exceeded"
    assert generation.credits_charged == 0
    assert CreditAccount.objects.get(user=user).available == available
    assert ProviderAttempt.objects.get(generation=generation).outcome == "failed"


def test_reaper_sends_a_long_queued_generation_again(
    user, local_account, settings, django_capture_on_commit_callbacks
):
    generation = submit(user)  # its message was lost: nothing ran it
    age(generation, seconds=settings.QUEUE_REDISPATCH_S + 5, status="queued")

    assert generations_reap() == {"expired": 0, "redispatched": 1}  # eager in tests: runs now

    generation.refresh_from_db()
    assert generation.status == Generation.Status.SUCCEEDED


def test_reaper_leaves_healthy_generations_alone(user, local_account):
    submit(user)
    assert generations_reap() == {"expired": 0, "redispatched": 0}


def test_a_duplicate_poll_does_nothing(user, local_account):
    generation = submit(user)
    Generation.objects.filter(id=generation.id).update(status="running")
    attempt = ProviderAttemptFactory(
        generation=generation,
        account=local_account,
        provider_kind="replicate",
        polls=3,
        provider_request_id="job-1",
        job_state={"x": 1},
    )
    generation_poll(generation_id=str(generation.id), attempt_id=attempt.pk, poll=2)  # stale
    attempt.refresh_from_db()
    assert attempt.polls == 3
    assert attempt.outcome == "running"


def test_deleted_generations_lose_their_files_but_shared_files_stay(
    user, local_account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        kept = submit(user, prompt="same bytes")
    with django_capture_on_commit_callbacks(execute=True):
        deleted = submit(user, prompt="same bytes")  # deterministic demo: identical files
    with django_capture_on_commit_callbacks(execute=True):
        alone = submit(user, prompt="only mine")
    Generation.objects.filter(id__in=[deleted.id, alone.id]).update(deleted_at=timezone.now())
    shared_name = kept.outputs.first().file.name
    alone_names = [output.file.name for output in alone.outputs.all()]

    removed = deleted_generation_files_remove()

    assert removed == 4  # alone's 2 images and 2 thumbnails
    assert default_storage.exists(shared_name)
    assert not any(default_storage.exists(name) for name in alone_names)
    assert Generation.objects.get(id=deleted.id).files_removed_at is not None
    assert deleted_generation_files_remove() == 0
