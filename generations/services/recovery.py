"""Bringing back a generation whose run was lost with its worker (a crash, ``kill -9``, a
lost machine), within a minute rather than at its deadline.

A running generation holds a lease that its worker renews (``generations.tasks.worker``); a lease
past its time means nobody is working on it. What happens next depends on how far the lost run
got, because a provider may have taken — and will charge for — a call we never saw answered:

- a job submitted to a job-based provider: resumed by polling that job (it is not sent again);
- a call open at a synchronous provider: it may have been taken, so it is never sent again;
  the generation fails with that reason and pays only for images already stored;
- no call open (lost before calling, or between a failed call and the next account): queued
  again and run as usual.
"""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from generations.models import Generation, ProviderAttempt
from generations.runtime import dispatch
from generations.runtime.db import after_commit
from generations.services.lifecycle import (
    generation_finish,
    generation_lease_renew,
    generation_requeue,
)

logger = logging.getLogger(__name__)

RECOVER_BATCH = 200
LOST_CALL_MESSAGE = (
    "The worker stopped while the provider was making these images. The call may have reached "
    "the provider, so it was not sent again (it could have been paid twice). Only delivered "
    "images were charged; the rest was returned."
)


def generations_recover_lost() -> dict[str, int]:
    """Recover every running generation whose lease ran out; returns how many of each kind."""
    lost = Generation.objects.filter(
        Q(lease_expires_at__lt=timezone.now()) | Q(lease_expires_at__isnull=True),
        status=Generation.Status.RUNNING,
    ).values_list("id", flat=True)[:RECOVER_BATCH]
    counts = {"resumed": 0, "failed": 0, "requeued": 0}
    for generation_id in list(lost):
        outcome = generation_recover(generation_id=str(generation_id))
        if outcome is not None:
            counts[outcome] += 1
    if any(counts.values()):
        logger.warning("recovered generations whose worker was lost: %s", counts)
    return counts


def generation_recover(*, generation_id: str) -> str | None:
    """Recover one generation if its run is lost: "resumed", "failed", "requeued", or None
    when there is nothing to do (it ended, or a live worker holds its lease)."""
    with transaction.atomic():
        # skip_locked: a generation being finished or recovered elsewhere right now is theirs.
        generation = (
            Generation.objects.select_for_update(skip_locked=True)
            .filter(id=generation_id, status=Generation.Status.RUNNING)
            .first()
        )
        if generation is None or _lease_live(generation):
            return None
        open_attempts = list(
            ProviderAttempt.objects.filter(
                generation=generation, outcome=ProviderAttempt.Outcome.RUNNING
            )
        )
        job = next((attempt for attempt in open_attempts if attempt.job_state), None)
        if job is not None:
            generation_lease_renew(generation_id=generation_id)
            after_commit(
                dispatch.task_send,
                dispatch.POLL_TASK,
                kwargs={
                    "generation_id": generation_id,
                    "attempt_id": job.pk,
                    "poll": job.polls,
                    "typical_job_s": None,
                },
            )
            return "resumed"
        if open_attempts:
            return _fail_lost_call(generation, attempts=open_attempts)
        generation_requeue(generation=generation)
        return "requeued"


def _lease_live(generation: Generation) -> bool:
    return generation.lease_expires_at is not None and generation.lease_expires_at >= (
        timezone.now()
    )


def _fail_lost_call(generation: Generation, *, attempts: list[ProviderAttempt]) -> str:
    ProviderAttempt.objects.filter(pk__in=[attempt.pk for attempt in attempts]).update(
        outcome=ProviderAttempt.Outcome.FAILED,
        error_code="worker_lost",
        error_message="The worker stopped during this call; it was not sent again.",
        finished_at=timezone.now(),
    )
    generation_finish(
        generation,
        error_code="worker_lost",
        error_message=LOST_CALL_MESSAGE,
    )
    return "failed"
