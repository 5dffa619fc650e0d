"""Reads of generations, shaped for the pages that show them."""

from django.db.models import Q, QuerySet

from accounts.models import User

from .models import Generation, OutputImage


def generation_list_recent(*, user: User, limit: int) -> list[Generation]:
    return list(
        Generation.objects.filter(owner=user, deleted_at__isnull=True)
        .select_related("owner")
        .prefetch_related("outputs")
        .order_by("-created_at")[:limit]
    )


def generations_visible_to(*, user: User) -> QuerySet[Generation]:
    """Generations ``user`` may see: their own, the team's shared ones, or all for staff."""
    live = Generation.objects.filter(deleted_at__isnull=True)
    if user.is_staff:
        return live
    return live.filter(Q(owner=user) | Q(visibility=Generation.Visibility.TEAM))


def generation_get_visible(*, user: User, generation_id: str) -> Generation | None:
    return (
        generations_visible_to(user=user)
        .select_related("owner")
        .prefetch_related("outputs", "references", "attempts")
        .filter(id=generation_id)
        .first()
    )


def output_get_visible(*, user: User, output_id: int) -> OutputImage | None:
    visible = generations_visible_to(user=user)
    return (
        OutputImage.objects.filter(id=output_id, generation__in=visible)
        .select_related("generation")
        .first()
    )
