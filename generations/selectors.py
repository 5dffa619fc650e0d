"""Reads of generations, images and boards, shaped for the pages that show them.

Every list here returns rows with the relations its page renders already joined or prefetched,
so a page costs the same number of queries at 3 rows as at 30 (tests/pages/test_query_counts).
Everything a user may see goes through ``visible_q``: their own generations, the team's shared
ones, or all for staff; never a soft-deleted one.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from accounts.models import User

from .models import (
    Board,
    BoardItem,
    Generation,
    OutputImage,
    ProviderAccount,
    ProviderAttempt,
    ReferenceImage,
    Star,
)

GALLERY_TAB_MINE = "mine"
GALLERY_TAB_TEAM = "team"
# A board tile shows this many of its newest items as a cover.
BOARD_COVER_ITEMS = 4


def visible_q(*, user: User, prefix: str = "") -> Q:
    """A filter for generations ``user`` may see; ``prefix`` reaches them through a relation."""
    live = Q(**{f"{prefix}deleted_at__isnull": True})
    if user.is_staff:
        return live
    return live & (
        Q(**{f"{prefix}owner": user}) | Q(**{f"{prefix}visibility": Generation.Visibility.TEAM})
    )


def generations_visible_to(*, user: User) -> QuerySet[Generation]:
    """Generations ``user`` may see: their own, the team's shared ones, or all for staff."""
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


def generation_gallery_list(*, user: User, filters: GalleryFilters) -> QuerySet[Generation]:
    """The gallery: "mine" is everything of the user's; "team" is what anyone shared.

    The team tab shows shared generations only, for staff too: it is the team's common view,
    not an audit (that is the admin's usage report).
    """
    if filters.tab == GALLERY_TAB_TEAM:
        queryset = Generation.objects.filter(visibility=Generation.Visibility.TEAM)
        if filters.author_id is not None:
            queryset = queryset.filter(owner_id=filters.author_id)
    else:
        queryset = Generation.objects.filter(owner=user)
    queryset = queryset.filter(deleted_at__isnull=True)
    if filters.model:
        queryset = queryset.filter(model=filters.model)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.created_from is not None:
        queryset = queryset.filter(created_at__date__gte=filters.created_from)
    if filters.created_to is not None:
        queryset = queryset.filter(created_at__date__lte=filters.created_to)
    # Every word must appear somewhere in the prompt, in any order: "fox snow" finds
    # "a red fox in the snow".
    for word in filters.text.split():
        queryset = queryset.filter(prompt__icontains=word)
    if filters.starred:
        queryset = queryset.filter(
            Exists(Star.objects.filter(user=user, generation=OuterRef("pk")))
        )
    return _for_cards(queryset, user=user).order_by("-created_at", "-id")


def gallery_authors(*, user: User) -> QuerySet[User]:
    """Teammates with at least one shared generation: the team tab's "made by" choices."""
    shared = Generation.objects.filter(
        owner=OuterRef("pk"),
        visibility=Generation.Visibility.TEAM,
        deleted_at__isnull=True,
    )
    return User.objects.filter(Exists(shared)).order_by("username")


def generation_get_visible(*, user: User, generation_id: str) -> Generation | None:
    """One generation with everything its detail page shows, or None if ``user`` may not see it."""
    attempts = ProviderAttempt.objects.select_related("account").order_by("started_at", "id")
    return (
        _for_cards(generations_visible_to(user=user), user=user)
        .select_related("api_key")
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


# --- Boards ------------------------------------------------------------------------------


def _board_items_for(*, user: User) -> QuerySet[BoardItem]:
    """Board items whose generation ``user`` may see, with what a tile renders (``is_demo``:
    the item's generation shows demo placeholders)."""
    return (
        BoardItem.objects.filter(visible_q(user=user, prefix="generation__"))
        .annotate(is_demo=demo_output_exists(generation="generation_id"))
        .select_related("generation__owner", "output")
        .prefetch_related("generation__outputs")
        .order_by("-added_at", "-id")
    )


def _boards_for_tiles(queryset: QuerySet[Board], *, user: User) -> QuerySet[Board]:
    # Sliced prefetch (Django 4.2+): the newest few visible items per board in one query.
    covers = Prefetch(
        "items",
        queryset=_board_items_for(user=user)[:BOARD_COVER_ITEMS],
        to_attr="cover_items",
    )
    return (
        queryset.select_related("owner")
        .annotate(
            visible_items=Count("items", filter=visible_q(user=user, prefix="items__generation__"))
        )
        .prefetch_related(covers)
        .order_by("name", "id")
    )


def board_list_visible(*, user: User) -> list[Board]:
    """The user's own boards and those teammates shared, in one read; each with
    ``cover_items`` and ``visible_items`` (what this viewer may see of it)."""
    boards = Board.objects.filter(Q(owner=user) | Q(visibility=Board.Visibility.TEAM))
    return list(_boards_for_tiles(boards, user=user))


def board_get_visible(*, user: User, board_id: int) -> Board | None:
    return (
        Board.objects.filter(Q(owner=user) | Q(visibility=Board.Visibility.TEAM), id=board_id)
        .select_related("owner")
        .first()
    )


def board_get_owned(*, user: User, board_id: int) -> Board | None:
    return Board.objects.filter(owner=user, id=board_id).first()


def board_items_visible(*, board: Board, user: User) -> QuerySet[BoardItem]:
    """The items of ``board`` that ``user`` may see, newest first."""
    return _board_items_for(user=user).filter(board=board)


def board_item_get_owned(*, user: User, item_id: int) -> BoardItem | None:
    return BoardItem.objects.filter(board__owner=user, id=item_id).select_related("board").first()


def board_choices(*, user: User) -> list[Board]:
    """The user's boards for an "add to board" picker."""
    return list(Board.objects.filter(owner=user).order_by("name", "id"))


def board_items_of_generation(*, user: User, generation: Generation) -> list[BoardItem]:
    """Where ``generation`` (or one of its images) sits on boards ``user`` may open."""
    boards = Q(board__owner=user) | Q(board__visibility=Board.Visibility.TEAM)
    return list(
        BoardItem.objects.filter(boards, generation=generation)
        .select_related("board", "output")
        .order_by("board__name", "id")
    )
