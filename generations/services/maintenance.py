"""Periodic jobs (celery beat): nothing stays stranded, deleted files leave storage."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from generations.models import Generation, OutputImage, ProviderAttempt, ReferenceImage
from generations.runtime import dispatch
from generations.services.images import preview_names, storage_file_in_use
from generations.services.lifecycle import generation_expire
from generations.services.polling import attempt_cancel_at_provider

logger = logging.getLogger(__name__)


def generations_reap() -> dict[str, int]:
    """Finish what a crash or a lost message left behind.

    - QUEUED for longer than QUEUE_REDISPATCH_S: its task message may be lost (a broker
      without redelivery, a failed publish); it is sent again (the task is idempotent).
    - Not finished GENERATION_DEADLINE_S (+ a grace) after it started: failed with the reason,
      open provider jobs canceled, and its hold settled (delivered images only are charged).
    """
    now = timezone.now()
    deadline = now - timedelta(seconds=settings.GENERATION_DEADLINE_S + REAP_GRACE_S)
    expired = Generation.objects.filter(
        Q(status=Generation.Status.RUNNING, started_at__lt=deadline)
        | Q(status=Generation.Status.QUEUED, created_at__lt=deadline)
    ).values_list("id", flat=True)
    reaped = 0
    for generation_id in list(expired[:REAP_BATCH]):
        if generation_expire_overdue(generation_id=str(generation_id)):
            reaped += 1
    stale_queued = Generation.objects.filter(
        status=Generation.Status.QUEUED,
        created_at__lt=now - timedelta(seconds=settings.QUEUE_REDISPATCH_S),
        created_at__gte=deadline,
    ).values_list("id", flat=True)
    redispatched = 0
    for generation_id in list(stale_queued[:REAP_BATCH]):
        if dispatch.task_send(dispatch.RUN_TASK, kwargs={"generation_id": str(generation_id)}):
            redispatched += 1
    if reaped or redispatched:
        logger.warning("reaper: %s expired, %s queued sent again", reaped, redispatched)
    return {"expired": reaped, "redispatched": redispatched}


REAP_GRACE_S = 60
REAP_BATCH = 500


def generation_expire_overdue(*, generation_id: str) -> bool:
    """Fail a generation past its deadline, its open provider jobs canceled first; returns
    False if it finished meanwhile."""
    for attempt in ProviderAttempt.objects.select_related("account").filter(
        generation_id=generation_id, outcome=ProviderAttempt.Outcome.RUNNING
    ):
        attempt_cancel_at_provider(attempt=attempt)
    minutes = settings.GENERATION_DEADLINE_S / 60
    return generation_expire(
        generation_id=generation_id,
        error_message=f"Not finished within {minutes:.0f} minutes (the worker or the provider "
        "stopped answering). Only delivered images were charged; the rest was returned.",
    )


def deleted_generation_files_remove() -> int:
    """Remove the files of soft-deleted generations from storage; returns how many files.

    Files are content-addressed, so a file another live generation also uses is kept.
    """
    removed = 0
    pending = Generation.objects.filter(
        deleted_at__isnull=False, files_removed_at__isnull=True
    ).values_list("id", flat=True)[:REAP_BATCH]
    for generation_id in list(pending):
        names = set()
        for output in OutputImage.objects.filter(generation_id=generation_id):
            names.update({output.file.name, output.thumbnail.name})
            # Previews are named by the image's bytes, like the file they were made from.
            if output.file.name and not storage_file_in_use(
                output.file.name, ignoring_generation_id=str(generation_id)
            ):
                names.update(
                    name for name in preview_names(output.sha256) if default_storage.exists(name)
                )
        names.update(
            ReferenceImage.objects.filter(generation_id=generation_id).values_list(
                "file", flat=True
            )
        )
        for name in names:
            if name and not storage_file_in_use(name, ignoring_generation_id=str(generation_id)):
                default_storage.delete(name)
                removed += 1
        Generation.objects.filter(id=generation_id).update(files_removed_at=timezone.now())
    return removed
