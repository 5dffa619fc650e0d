"""Boards and their items as a user may see or own them."""

from django.db.models import Count, Prefetch, Q, QuerySet

from accounts.models import User
from generations.models import (
    Board,
    BoardItem,
    Generation,
)
from generations.selectors.generations import demo_output_exists, team_ids_of, visible_q

# A board tile shows this many of its newest items as a cover.
BOARD_COVER_ITEMS = 4


def board_visible_q(*, user: User, prefix: str = "") -> Q:
    """Boards ``user`` may open: their own, and shared ones, shared with everyone here (no
    ``team``) or with a team ``user`` belongs to. Opening a board never shows an item whose
    generation the viewer may not see (``_board_items_for``)."""
    return Q(**{f"{prefix}owner": user}) | (
        Q(**{f"{prefix}visibility": Board.Visibility.TEAM})
        & (Q(**{f"{prefix}team__isnull": True}) | Q(**{f"{prefix}team_id__in": team_ids_of(user)}))
    )


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
        queryset.select_related("owner", "team")
        .annotate(
            visible_items=Count("items", filter=visible_q(user=user, prefix="items__generation__"))
        )
        .prefetch_related(covers)
        .order_by("name", "id")
    )


def board_list_visible(*, user: User) -> list[Board]:
    """The user's own boards and those teammates shared, in one read; each with
    ``cover_items`` and ``visible_items`` (what this viewer may see of it)."""
    boards = Board.objects.filter(board_visible_q(user=user))
    return list(_boards_for_tiles(boards, user=user))


def board_get_visible(*, user: User, board_id: int) -> Board | None:
    return (
        Board.objects.filter(board_visible_q(user=user), id=board_id)
        .select_related("owner", "team")
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
    return list(
        BoardItem.objects.filter(
            board_visible_q(user=user, prefix="board__"), generation=generation
        )
        .select_related("board", "output")
        .order_by("board__name", "id")
    )


def board_audience_sees(*, board: Board, generation: Generation, visibility: str = "") -> bool:
    """Whether everyone a shared board is shown to would see ``generation`` on it (with
    ``visibility`` in place of its own when given). A private board has no audience to miss
    anything. No query: the same rule as ``shared_with_q``, applied to the rows in hand."""
    if not board.is_shared:
        return True
    if (visibility or generation.visibility) != Generation.Visibility.TEAM:
        return False
    if generation.shared_team_id is None:
        return True  # shared with everyone here, so with any team's board too
    return board.team_id == generation.shared_team_id
