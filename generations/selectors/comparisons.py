"""Comparisons as a user may see them: the same rules as boards (their own, and those shared
with everyone here or with one of their teams), and inside one only the generations the viewer
could already see (``visible_q``)."""

from django.db.models import Count, Prefetch, Q, QuerySet

from accounts.models import User
from generations.models import Comparison, ComparisonEntry, ProviderAttempt
from generations.selectors.generations import team_ids_of, visible_q


def comparison_visible_q(*, user: User, prefix: str = "") -> Q:
    """Comparisons ``user`` may open: their own, and shared ones, shared with everyone here (no
    ``team``) or with a team ``user`` belongs to."""
    return Q(**{f"{prefix}owner": user}) | (
        Q(**{f"{prefix}visibility": Comparison.Visibility.TEAM})
        & (Q(**{f"{prefix}team__isnull": True}) | Q(**{f"{prefix}team_id__in": team_ids_of(user)}))
    )


def _entries_for(*, user: User) -> QuerySet[ComparisonEntry]:
    """Entries whose generation ``user`` may see, with what a column shows: its images, and its
    calls to providers (the provider and time taken), oldest call first."""
    attempts = ProviderAttempt.objects.order_by("started_at", "id")
    return (
        ComparisonEntry.objects.filter(visible_q(user=user, prefix="generation__"))
        .select_related("generation__owner", "generation__wallet__team", "generation__shared_team")
        .prefetch_related(
            "generation__outputs", Prefetch("generation__attempts", queryset=attempts)
        )
        .order_by("position")
    )


def comparison_get_visible(*, user: User, comparison_id: str) -> Comparison | None:
    """One comparison with its ``entries`` (those ``user`` may see) in four queries however many
    models it compares; None when ``user`` may not open it."""
    return (
        Comparison.objects.filter(comparison_visible_q(user=user), id=comparison_id)
        .select_related("owner", "team")
        .prefetch_related(Prefetch("entries", queryset=_entries_for(user=user)))
        .first()
    )


def comparison_list_visible(*, user: User, limit: int) -> list[Comparison]:
    """The newest comparisons ``user`` may open, each with ``runs`` (its generations)."""
    return list(
        Comparison.objects.filter(comparison_visible_q(user=user))
        .select_related("owner", "team")
        .annotate(runs=Count("entries"))
        .order_by("-created_at")[:limit]
    )
