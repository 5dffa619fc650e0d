"""Which generations, outputs and references a user may see, listed for the gallery and the
API alike: one visibility rule and one prompt search (word by word)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from accounts.models import Membership, User
from generations.models import (
    Generation,
    OutputImage,
    ProviderAccount,
    ProviderAttempt,
    ReferenceImage,
    Star,
)

GALLERY_TAB_MINE = "mine"


# The gallery's shared tabs: with a team, what was shared with that team; without, what was
# shared with everyone here (the tab's meaning before there were teams).
GALLERY_TAB_TEAM = "team"


def team_ids_of(user: User) -> QuerySet[Membership, Any]:
    """The ids of the teams ``user`` belongs to, as a subquery (no query of its own)."""
    return Membership.objects.filter(user_id=user.pk).values("team_id")


def shared_with_q(*, user: User, prefix: str = "") -> Q:
    """Generations shared so that ``user`` sees them: visible to the team, and shared with
    everyone here (no ``shared_team``) or with a team ``user`` belongs to. The one rule of
    "visible to the team", for every reader; leaving a team ends it at once."""
    return Q(**{f"{prefix}visibility": Generation.Visibility.TEAM}) & (
        Q(**{f"{prefix}shared_team__isnull": True})
        | Q(**{f"{prefix}shared_team_id__in": team_ids_of(user)})
    )


def visible_q(*, user: User, prefix: str = "") -> Q:
    """A filter for generations ``user`` may see; ``prefix`` reaches them through a relation."""
    live = Q(**{f"{prefix}deleted_at__isnull": True})
    if user.is_staff:
        return live
    return live & (Q(**{f"{prefix}owner": user}) | shared_with_q(user=user, prefix=prefix))


def generations_visible_to(*, user: User) -> QuerySet[Generation]:
    """Generations ``user`` may see: their own, those shared with everyone or with one of their
    teams, or all for staff."""
    return Generation.objects.filter(visible_q(user=user))


def demo_output_exists(*, generation: str = "pk") -> Exists:
    """Whether the built-in demo renderer delivered images of the generation ``generation``
    names (an outer reference: ``"pk"`` on generations, ``"generation_id"`` on board items).

    ``ProviderAttempt.delivered_demo_images`` is the same rule for one attempt in hand.
    """
    return Exists(
        ProviderAttempt.objects.filter(
            generation=OuterRef(generation),
            provider_kind=ProviderAccount.Kind.LOCAL,
            images_returned__gt=0,
        )
    )


def generation_is_demo(generation: Generation) -> bool:
    """Whether ``generation``'s images are demo placeholders rather than Seedream output.

    Reads the ``is_demo`` annotation when a list added it (``demo_output_exists``), else the
    attempts through ``.all()``, so a prefetched generation costs no query either way.
    """
    annotated = getattr(generation, "is_demo", None)
    if annotated is not None:
        return bool(annotated)
    return any(attempt.delivered_demo_images for attempt in generation.attempts.all())


def _for_cards(queryset: QuerySet[Generation], *, user: User) -> QuerySet[Generation]:
    """What a generation card renders: author, images, whether ``user`` starred it and
    whether its images are demo placeholders."""
    return (
        queryset.select_related("owner")
        .prefetch_related("outputs")
        .annotate(
            is_starred=Exists(Star.objects.filter(user=user, generation=OuterRef("pk"))),
            is_demo=demo_output_exists(),
        )
    )


def prompt_search(queryset: QuerySet[Generation], text: str) -> QuerySet[Generation]:
    """The one prompt search of the gallery and the API: every word of ``text`` appears in the
    prompt, in any order and case ("harbour dusk" finds "a harbour at dusk")."""
    for word in text.split():
        queryset = queryset.filter(prompt__icontains=word)
    return queryset


def generation_list_recent(*, user: User, limit: int) -> list[Generation]:
    """The workspace's list: the user's own newest generations, finished or not."""
    mine = Generation.objects.filter(owner=user, deleted_at__isnull=True)
    return list(_for_cards(mine, user=user).order_by("-created_at")[:limit])


@dataclass(frozen=True)
class GalleryFilters:
    """What the gallery's filter form asked for; empty values filter nothing."""

    tab: str = GALLERY_TAB_MINE
    model: str = ""
    status: str = ""
    created_from: date | None = None
    created_to: date | None = None
    author_id: int | None = None
    text: str = ""
    starred: bool = False
    # On the shared tab: the team whose shared generations to show; None: those shared with
    # everyone here.
    team_id: int | None = None


def _shared_tab(*, user: User, team_id: int | None) -> QuerySet[Generation]:
    """A shared tab of the gallery: what was shared with team ``team_id`` (only when ``user``
    is in it), or with everyone here."""
    return Generation.objects.filter(_shared_tab_q(user=user, team_id=team_id))


def _shared_tab_q(*, user: User, team_id: int | None, prefix: str = "") -> Q:
    shared = Q(**{f"{prefix}visibility": Generation.Visibility.TEAM})
    if team_id is None:
        return shared & Q(**{f"{prefix}shared_team__isnull": True})
    return (
        shared
        & Q(**{f"{prefix}shared_team_id": team_id})
        & Q(**{f"{prefix}shared_team_id__in": team_ids_of(user)})
    )


def gallery_q(*, user: User, filters: GalleryFilters, prefix: str = "") -> Q:
    """The gallery's rule, as one filter: "mine" is everything of the user's; a shared tab is
    what was shared with one of the user's teams, or with everyone here; then the filters.
    ``prefix`` reaches the generation through a relation (``"generation__"`` from an image),
    so the view of images and the view of generations show the same things.

    The shared tabs show shared generations only, for staff too: they are the team's common
    view, not an audit (that is the admin's usage report).
    """
    if filters.tab == GALLERY_TAB_TEAM:
        rule = _shared_tab_q(user=user, team_id=filters.team_id, prefix=prefix)
        if filters.author_id is not None:
            rule &= Q(**{f"{prefix}owner_id": filters.author_id})
    else:
        rule = Q(**{f"{prefix}owner": user})
    rule &= Q(**{f"{prefix}deleted_at__isnull": True})
    if filters.model:
        rule &= Q(**{f"{prefix}model": filters.model})
    if filters.status:
        rule &= Q(**{f"{prefix}status": filters.status})
    if filters.created_from is not None:
        rule &= Q(**{f"{prefix}created_at__date__gte": filters.created_from})
    if filters.created_to is not None:
        rule &= Q(**{f"{prefix}created_at__date__lte": filters.created_to})
    # Every word must appear somewhere in the prompt, in any order: "fox snow" finds
    # "a red fox in the snow" (``prompt_search``'s rule).
    for word in filters.text.split():
        rule &= Q(**{f"{prefix}prompt__icontains": word})
    if filters.starred:
        generation = "generation_id" if prefix else "pk"
        rule &= Q(Exists(Star.objects.filter(user=user, generation=OuterRef(generation))))
    return rule


def generation_gallery_list(*, user: User, filters: GalleryFilters) -> QuerySet[Generation]:
    """The gallery's view of generations (``gallery_q``), newest first."""
    queryset = Generation.objects.filter(gallery_q(user=user, filters=filters))
    return _for_cards(queryset, user=user).order_by("-created_at", "-id")


@dataclass(frozen=True)
class GalleryNeighbours:
    """The generations just before (newer) and after (older) one in a gallery's order."""

    newer_id: Any = None
    older_id: Any = None


def generation_gallery_neighbours(
    *, user: User, filters: GalleryFilters, generation: Generation
) -> GalleryNeighbours:
    """``generation``'s neighbours in the gallery ``filters`` describe (newest first, ties by
    id), found by keyset on ``(created_at, id)``: two indexed queries however long the list."""
    listed = _gallery_filtered(user=user, filters=filters)
    at, key = generation.created_at, generation.pk
    newer = (
        listed.filter(Q(created_at__gt=at) | Q(created_at=at, id__gt=key))
        .order_by("created_at", "id")
        .values_list("id", flat=True)
        .first()
    )
    older = (
        listed.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=key))
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
        .first()
    )
    return GalleryNeighbours(newer_id=newer, older_id=older)


def _gallery_filtered(*, user: User, filters: GalleryFilters) -> QuerySet[Generation]:
    """The gallery's rows before ordering and card annotations."""
    return Generation.objects.filter(gallery_q(user=user, filters=filters))


def gallery_authors(*, user: User, team_id: int | None = None) -> QuerySet[User]:
    """Teammates with at least one generation on the shared tab (``team_id`` as in
    ``GalleryFilters``): its "made by" choices."""
    shared = _shared_tab(user=user, team_id=team_id).filter(
        owner=OuterRef("pk"), deleted_at__isnull=True
    )
    return User.objects.filter(Exists(shared)).order_by("username")


def generation_get_visible(*, user: User, generation_id: str) -> Generation | None:
    """One generation with everything its detail page shows, or None if ``user`` may not see it."""
    attempts = ProviderAttempt.objects.select_related("account").order_by("started_at", "id")
    return (
        _for_cards(generations_visible_to(user=user), user=user)
        .select_related("api_key", "shared_team")
        .prefetch_related("references", Prefetch("attempts", queryset=attempts))
        .filter(id=generation_id)
        .first()
    )


def generation_get_card(*, user: User, generation_id: str) -> Generation | None:
    """One generation with only what its live card shows: polled every few seconds, so it
    skips the detail page's references and attempts."""
    return _for_cards(generations_visible_to(user=user), user=user).filter(id=generation_id).first()


def output_get_visible(*, user: User, output_id: int) -> OutputImage | None:
    return (
        OutputImage.objects.filter(visible_q(user=user, prefix="generation__"), id=output_id)
        .select_related("generation")
        .first()
    )


def outputs_get_visible(*, user: User, output_ids: Iterable[int]) -> dict[int, OutputImage]:
    """Of ``output_ids``, the images ``user`` may see, by id (one query)."""
    outputs = OutputImage.objects.filter(
        visible_q(user=user, prefix="generation__"), id__in=list(output_ids)
    ).select_related("generation")
    return {output.pk: output for output in outputs}


def references_get_visible(
    *, user: User, reference_ids: Iterable[int]
) -> dict[int, ReferenceImage]:
    """Of ``reference_ids``, the reference images of generations ``user`` may see, by id."""
    references = ReferenceImage.objects.filter(
        visible_q(user=user, prefix="generation__"), id__in=list(reference_ids)
    ).select_related("generation")
    return {reference.pk: reference for reference in references}


SCOPE_MINE = "mine"


SCOPE_TEAM = "team"


@dataclass(frozen=True)
class GenerationFilters:
    scope: str = SCOPE_MINE
    status: str = ""
    model: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None
    text: str = ""


def _with_details(queryset: QuerySet[Generation]) -> QuerySet[Generation]:
    """What ``GenerationSerializer`` reads, in three queries however many rows there are."""
    return queryset.select_related("owner", "wallet__team", "shared_team").prefetch_related(
        "outputs", "attempts"
    )


def generation_list_api(*, user: User, filters: GenerationFilters) -> QuerySet[Generation]:
    """``mine``: the caller's own generations, private or shared. ``team``: the shared ones the
    caller may see (shared with everyone here or with one of their teams), theirs included.
    Staff get no more in a list than anyone else: a list is a view of the team's work, and
    staff read others' private work one generation at a time."""
    if filters.scope == SCOPE_TEAM:
        queryset = Generation.objects.filter(shared_with_q(user=user))
    else:
        queryset = Generation.objects.filter(owner=user)
    queryset = queryset.filter(deleted_at__isnull=True)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.model:
        queryset = queryset.filter(model=filters.model)
    if filters.created_after is not None:
        queryset = queryset.filter(created_at__gte=filters.created_after)
    if filters.created_before is not None:
        queryset = queryset.filter(created_at__lt=filters.created_before)
    queryset = prompt_search(queryset, filters.text)
    return _with_details(queryset)


def generation_get_api(*, user: User, generation_id: str) -> Generation | None:
    """One generation the caller may see (own, shared, or any for staff), unless deleted."""
    try:
        # get(), not first(): no ORDER BY to build and sort for one row by its key.
        return _with_details(generations_visible_to(user=user)).get(
            id=generation_id, deleted_at__isnull=True
        )
    except Generation.DoesNotExist:
        return None
