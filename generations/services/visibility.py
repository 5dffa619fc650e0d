from django.db import transaction

from accounts.models import User
from generations.catalog import SpecError
from generations.models import Generation
from generations.services.lifecycle import generation_change_check


def generation_visibility_set(*, generation: Generation, user: User, visibility: str) -> Generation:
    """Show a generation to the team or keep it to its owner (owner or staff only).

    Making it private again also hides it from every shared board it sits on, since boards
    only ever show what a viewer may see. Credits and files are untouched.
    """
    generation_change_check(generation=generation, user=user)
    if visibility not in Generation.Visibility.values:
        raise SpecError(
            {
                "visibility": [
                    f"Visibility must be one of {', '.join(Generation.Visibility.values)}."
                ]
            }
        )
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if locked.deleted_at is not None:
            # A deleted generation is gone for every reader; changing it would be invisible.
            raise SpecError({"visibility": ["This generation was deleted."]})
        if locked.visibility != visibility:
            locked.visibility = visibility
            locked.save(update_fields=["visibility", "updated_at"])
    return locked
