"""Every status change of a generation, and the only place one is written.

    QUEUED --start--> RUNNING --finish--> SUCCEEDED | PARTIAL | FAILED
      |                  |  \\--cancel--> CANCELED
      |                  \\--requeue--> QUEUED      (its run was lost before any provider call)
      |--cancel--> CANCELED
      \\--expire--> FAILED                          (never started before its deadline)
    any terminal state --delete--> deleted          (hidden; the row and its ledger stay)

Each transition takes the row lock (or is one conditional UPDATE), checks the current state
against ``TRANSITIONS``, moves the credits through the ledger (a terminal transition captures
what was delivered and releases the rest), and schedules its effects — the notification that
wakes waiting calls, the webhook, the next task — to run only after the commit. A transition
not in the table raises ``TransitionRefused`` and changes nothing.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from accounts.services.budgets import budgets_settle
from accounts.services.credits import credits_settle, release_hold_of_failed_generation
from generations.messaging.notifications import notify_finished, notify_progress
from generations.messaging.webhooks import webhook_enqueue
from generations.models import Generation, ProviderAttempt
from generations.runtime import dispatch
from generations.runtime.db import after_commit
from generations.services.billing import generation_charge
from generations.services.outputs import delivered_count
from studio_core.errors import ServiceError

logger = logging.getLogger(__name__)

Status = Generation.Status
# Not a status column value: a deleted generation keeps its terminal status and gains
# ``deleted_at``; the lifecycle treats it as a state of its own.
DELETED = "deleted"

TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        (Status.QUEUED, Status.RUNNING),
        (Status.QUEUED, Status.CANCELED),
        (Status.QUEUED, Status.FAILED),
        (Status.RUNNING, Status.SUCCEEDED),
        (Status.RUNNING, Status.PARTIAL),
        (Status.RUNNING, Status.FAILED),
        (Status.RUNNING, Status.CANCELED),
        (Status.RUNNING, Status.QUEUED),
        *((terminal, DELETED) for terminal in Generation.TERMINAL_STATUSES),
    }
)


class TransitionRefused(ServiceError):
    code = "invalid_transition"
    status = 409


class GenerationNotCancelable(TransitionRefused):
    code = "not_cancelable"


class GenerationNotDeletable(TransitionRefused):
    code = "not_deletable"


def generation_change_check(*, generation: Generation, user: User) -> None:
    """Raise ``PermissionDenied`` unless ``user`` may change ``generation`` (owner or staff).

    Seeing a generation is not enough to change it: a teammate can read a shared one but not
    cancel or delete it.
    """
    if generation.owner_id != user.pk and not user.is_staff:
        raise PermissionDenied("Only the generation's owner can change it.")


def state_of(generation: Generation) -> str:
    return DELETED if generation.deleted_at is not None else str(generation.status)


def transition_check(*, current: str, target: str) -> None:
    """Raise ``TransitionRefused`` unless a generation may go from ``current`` to ``target``."""
    if (current, target) not in TRANSITIONS:
        raise TransitionRefused(f"A generation cannot go from {current} to {target}.")


def lease_deadline(*, extra_s: float = 0.0) -> datetime:
    """When a run renewed now is presumed lost unless renewed again (``extra_s``: time it is
    expected to sleep first, such as a scheduled poll's countdown)."""
    return timezone.now() + timedelta(seconds=settings.GENERATION_LEASE_S + extra_s)


# --- QUEUED -> RUNNING, RUNNING -> QUEUED -------------------------------------------------------


def generation_start(*, generation_id: str) -> Generation | None:
    """QUEUED -> RUNNING in one conditional UPDATE; None when it was not QUEUED (another worker
    took it, or it was canceled). The run holds a lease from here (``generations.tasks.worker``)."""
    now = timezone.now()
    started = Generation.objects.filter(id=generation_id, status=Status.QUEUED).update(
        status=Status.RUNNING,
        # A requeued generation keeps its first start: its deadline counts from there.
        started_at=Coalesce("started_at", now),
        lease_expires_at=lease_deadline(),
        updated_at=now,
    )
    if not started:
        return None
    after_commit(notify_progress, str(generation_id))
    return Generation.objects.get(id=generation_id)


def generation_requeue(*, generation: Generation) -> None:
    """RUNNING -> QUEUED for a run lost before any provider call was open (nothing was sent
    that could be paid twice), and dispatch it again through the outbox. Call under the row
    lock (``generations.services.recovery``)."""
    transition_check(current=state_of(generation), target=Status.QUEUED)
    generation.status = Status.QUEUED
    generation.dispatched_at = None
    generation.lease_expires_at = None
    generation.save(update_fields=["status", "dispatched_at", "lease_expires_at", "updated_at"])
    after_commit(dispatch.generation_dispatch, generation_id=str(generation.id))


def generation_lease_renew(*, generation_id: str, extra_s: float = 0.0) -> None:
    """Push a running generation's lease on (``extra_s``: a scheduled poll's countdown)."""
    Generation.objects.filter(id=generation_id, status=Status.RUNNING).update(
        lease_expires_at=lease_deadline(extra_s=extra_s)
    )


# --- the terminal transitions ---------------------------------------------------------------


def generation_finish(
    generation: Generation,
    *,
    attempt: ProviderAttempt | None = None,
    error_code: str = "",
    error_message: str = "",
    image_errors: list[dict] | None = None,
) -> bool:
    """RUNNING -> SUCCEEDED (every image delivered), PARTIAL (some) or FAILED (none), and
    settle: capture the delivered images' price, release the rest. Returns False, changing
    nothing, when the generation ended meanwhile (a late result for a canceled or expired
    generation is dropped and not charged); a generation never started is refused.

    A partial or failed one keeps the provider's reason in plain words.
    """
    with transaction.atomic():
        if attempt is not None:
            attempt.save()
        locked = Generation.objects.select_for_update().get(id=generation.id)
        if locked.is_terminal:
            logger.info(
                "generation %s already %s; a late result is dropped", locked.id, locked.status
            )
            return False
        delivered = delivered_count(locked)
        if delivered >= locked.num_images:
            target, error_code, error_message = Status.SUCCEEDED, "", ""
        elif delivered:
            target = Status.PARTIAL
        else:
            target = Status.FAILED
        if target != Status.SUCCEEDED and not error_code:
            error_code = "no_images"
            error_message = "The provider returned no images. Nothing was charged."
        _end(
            locked,
            target=target,
            charged=generation_charge(generation=locked, delivered_images=delivered),
            error_code=error_code,
            error_message=error_message,
            image_errors=image_errors or [],
        )
    _copy_state(locked, onto=generation)
    return True


def generation_expire(*, generation_id: str, error_message: str) -> bool:
    """QUEUED or RUNNING past its deadline -> FAILED (PARTIAL if some images arrived: those
    are charged, the rest released). Returns False when it ended meanwhile."""
    with transaction.atomic():
        locked = Generation.objects.select_for_update().filter(id=generation_id).first()
        if locked is None or locked.is_terminal:
            return False
        delivered = delivered_count(locked) if locked.status == Status.RUNNING else 0
        _end(
            locked,
            target=Status.PARTIAL if delivered else Status.FAILED,
            charged=generation_charge(generation=locked, delivered_images=delivered),
            error_code="deadline_exceeded",
            error_message=error_message,
        )
    return True


def generation_cancel(*, generation: Generation, user: User) -> Generation:
    """QUEUED or RUNNING -> CANCELED, returning the whole hold (images already stored are
    kept, unpaid). A job still open at a provider is asked to stop once this commits; a result
    that arrives later is dropped by ``generation_finish``."""
    if generation.owner_id != user.pk and not user.is_staff:
        raise GenerationNotCancelable("Only the generation's owner can cancel it.")
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if locked.is_terminal or locked.deleted_at is not None:
            raise GenerationNotCancelable(
                f"The generation already {locked.get_status_display().lower()}; "
                "there is nothing to cancel."
            )
        for attempt_id in locked.attempts.filter(
            outcome=ProviderAttempt.Outcome.RUNNING
        ).values_list("pk", flat=True):
            after_commit(
                dispatch.task_send,
                dispatch.CANCEL_AT_PROVIDER_TASK,
                kwargs={"attempt_id": attempt_id},
            )
        _end(
            locked,
            target=Status.CANCELED,
            charged=0,
            error_code="canceled",
            error_message="Canceled. The held credits were returned.",
        )
    return locked


def generation_delete(*, generation: Generation, user: User) -> Generation:
    """An ended generation -> deleted: hidden from every list and read (the row and its ledger
    entries stay for audit; a periodic job removes its files). Credits are untouched. A queued
    or running one is refused (it could still be charged after disappearing: cancel it first);
    deleting twice is harmless."""
    generation_change_check(generation=generation, user=user)
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if locked.deleted_at is not None:
            return locked
        if not locked.is_terminal:
            raise GenerationNotDeletable(
                f"The generation is still {locked.get_status_display().lower()}; cancel it "
                "first or wait for it to finish."
            )
        transition_check(current=state_of(locked), target=DELETED)
        locked.deleted_at = timezone.now()
        locked.save(update_fields=["deleted_at", "updated_at"])
        # A waiting call or stream still open on it ends now (a deleted generation reads as
        # gone), not at the next sweep.
        after_commit(notify_finished, str(locked.id))
    return locked


def _end(
    locked: Generation,
    *,
    target: str,
    charged: int,
    error_code: str,
    error_message: str,
    image_errors: list[dict] | None = None,
) -> None:
    """The one terminal transition: check it, write it, settle the hold, schedule the effects.
    Called under the row lock; the ledger change goes last, so the wallet's row is locked only
    until the commit right after. Nothing charged (failed, expired before any
    image, canceled): the whole hold goes back through ``release_hold_of_failed_generation``."""
    transition_check(current=state_of(locked), target=target)
    locked.status = target
    locked.error_code = error_code
    locked.error_message = error_message
    fields = ["status", "error_code", "error_message", "finished_at", "credits_charged"]
    if image_errors is not None:
        locked.image_errors = image_errors
        fields.append("image_errors")
    locked.finished_at = timezone.now()
    locked.credits_charged = charged
    locked.lease_expires_at = None
    locked.save(update_fields=[*fields, "lease_expires_at", "updated_at"])
    # The budgets' period rows before the wallet's, the order the submit locks them in.
    budgets_settle(generation=locked, charged=charged)
    if charged:
        credits_settle(generation=locked, charged=charged)
    else:
        release_hold_of_failed_generation(generation=locked)
    # After commit, so a receiver never hears of a state it cannot read yet; robust, so a
    # webhook or notification problem never undoes the transition.
    after_commit(webhook_enqueue, locked)
    after_commit(notify_finished, str(locked.id))


def _copy_state(source: Generation, *, onto: Generation) -> None:
    for name in (
        "status",
        "error_code",
        "error_message",
        "image_errors",
        "finished_at",
        "credits_charged",
        "lease_expires_at",
    ):
        setattr(onto, name, getattr(source, name))
