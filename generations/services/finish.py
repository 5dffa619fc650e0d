from functools import partial

from django.db import transaction
from django.utils import timezone

from ..models import Generation, ProviderAttempt
from ..notifications import notify_finished
from ..webhooks import webhook_enqueue
from .billing import generation_charge, generation_settle_credits
from .outputs import delivered_count


def generation_finish(
    generation: Generation,
    *,
    attempt: ProviderAttempt | None = None,
    error_code: str = "",
    error_message: str = "",
    image_errors: list[dict] | None = None,
) -> None:
    """Move a RUNNING generation to its terminal state and settle its credits, exactly once.

    A generation with at least one stored image succeeds (the provider's error, if any, is kept
    on the attempt); one with none fails with the provider's reason in plain words. A
    generation that is no longer RUNNING (canceled meanwhile) is left alone: nothing is charged.
    """
    with transaction.atomic():
        if attempt is not None:
            attempt.save()
        locked = Generation.objects.select_for_update().get(id=generation.id)
        if locked.status != Generation.Status.RUNNING:
            return
        delivered = delivered_count(locked)
        locked.status = Generation.Status.SUCCEEDED if delivered else Generation.Status.FAILED
        if delivered:
            error_code, error_message = "", ""
        elif not error_code:
            error_code = "no_images"
            error_message = "The provider returned no images. Nothing was charged."
        locked.error_code = error_code
        locked.error_message = error_message
        locked.image_errors = image_errors or []
        locked.finished_at = timezone.now()
        locked.credits_charged = generation_charge(generation=locked, delivered_images=delivered)
        locked.save(
            update_fields=[
                "status",
                "error_code",
                "error_message",
                "image_errors",
                "finished_at",
                "credits_charged",
                "updated_at",
            ]
        )
        generation_settle_credits(generation=locked, charged=locked.credits_charged)
        # After commit, so a receiver never hears of a state it cannot read yet; robust, so a
        # webhook problem never fails the generation.
        transaction.on_commit(partial(webhook_enqueue, locked), robust=True)
        transaction.on_commit(partial(notify_finished, str(locked.id)), robust=True)
    for name in ("status", "error_code", "error_message", "image_errors", "finished_at"):
        setattr(generation, name, getattr(locked, name))
    generation.credits_charged = locked.credits_charged
