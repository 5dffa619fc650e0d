from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.models import User

from ..models import Generation


class GenerationNotDeletable(Exception):
    code = "not_deletable"


def generation_change_check(*, generation: Generation, user: User) -> None:
    """Raise ``PermissionDenied`` unless ``user`` may change ``generation`` (owner or staff).

    Seeing a generation is not enough to change it: a teammate can read a shared one but not
    cancel or delete it.
    """
    if generation.owner_id != user.pk and not user.is_staff:
        raise PermissionDenied("Only the generation's owner can change it.")


def generation_delete(*, generation: Generation, user: User) -> Generation:
    """Hide a finished generation from every list and read (soft delete).

    Credits are untouched: what was charged was delivered. The row stays for the ledger and
    the audit trail; a periodic job removes its files later. A generation still queued or
    running cannot be deleted, since it could still be charged after disappearing: cancel it
    first. Deleting twice is harmless (the first time stands).
    """
    generation_change_check(generation=generation, user=user)
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if not locked.is_terminal:
            raise GenerationNotDeletable(
                f"The generation is still {locked.get_status_display().lower()}; cancel it "
                "first or wait for it to finish."
            )
        if locked.deleted_at is None:
            locked.deleted_at = timezone.now()
            locked.save(update_fields=["deleted_at", "updated_at"])
    return locked
