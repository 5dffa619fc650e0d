from functools import partial

from django.db import transaction
from django.utils import timezone

from accounts.models import User

from .. import tasks
from ..models import Generation, ProviderAttempt
from ..notifications import notify_finished
from ..webhooks import webhook_enqueue
from .billing import generation_release_credits


class GenerationNotCancelable(Exception):
    code = "not_cancelable"


def generation_cancel(*, generation: Generation, user: User) -> Generation:
    """Stop a queued or running generation and return its whole hold.

    A result that arrives after this is discarded: the worker finishes only RUNNING generations,
    so nothing is captured for a canceled one.
    """
    if generation.owner_id != user.pk and not user.is_staff:
        raise GenerationNotCancelable("Only the generation's owner can cancel it.")
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if locked.is_terminal:
            raise GenerationNotCancelable(
                f"The generation already {locked.get_status_display().lower()}; "
                "there is nothing to cancel."
            )
        locked.status = Generation.Status.CANCELED
        locked.error_code = "canceled"
        locked.error_message = "Canceled. The held credits were returned."
        locked.finished_at = timezone.now()
        locked.save(
            update_fields=["status", "error_code", "error_message", "finished_at", "updated_at"]
        )
        transaction.on_commit(partial(webhook_enqueue, locked), robust=True)
        transaction.on_commit(partial(notify_finished, str(locked.id)), robust=True)
        # A job still running at a provider is asked to stop once this commits.
        for attempt_id in locked.attempts.filter(
            outcome=ProviderAttempt.Outcome.RUNNING
        ).values_list("pk", flat=True):
            transaction.on_commit(
                partial(tasks.cancel_at_provider_task.delay, attempt_id=attempt_id)
            )
        # Last, so the owner's balance row is locked only until the commit right after.
        generation_release_credits(generation=locked)
    return locked
