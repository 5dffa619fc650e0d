"""Stars and boards: how a teammate keeps and shares what the team made.

Only a board's owner changes it or its items; sharing a board (``team``) lets teammates look,
not edit. Adding something requires that the owner may see it, and a shared board never shows
a viewer anything they could not see anyway (``generations.selectors.boards.board_items_visible``).
Nothing here touches credits or image files: deleting a board keeps its generations.
"""

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from accounts.models import Membership, Team, User
from generations.models import Board, BoardItem, Generation, OutputImage, Star
from generations.selectors.generations import generations_visible_to
from studio_core.errors import ServiceError

BOARD_NAME_MAX_LENGTH = 100


class BoardError(ServiceError):
    """A board change that cannot be made; ``str()`` is for the person who asked."""

    code = "board_invalid"


def generation_star_set(*, generation: Generation, user: User, starred: bool) -> bool:
    """Star or unstar ``generation`` for ``user``; repeating either is harmless.

    Setting the wanted state (rather than toggling) keeps a double-click or a retried POST
    from undoing itself.
    """
    _visible_check(generation=generation, user=user)
    if starred:
        Star.objects.get_or_create(user=user, generation=generation)
    else:
        Star.objects.filter(user=user, generation=generation).delete()
    return starred


def board_create(
    *,
    owner: User,
    name: str,
    visibility: str = Board.Visibility.PRIVATE,
    team: Team | None = None,
) -> Board:
    """A new board of ``owner``'s; shared (``team`` visibility) with ``team`` when given (one
    of the owner's teams), else with everyone here."""
    name = _board_name_clean(name)
    _visibility_check(visibility)
    team = _shared_team_check(owner=owner, visibility=visibility, team=team)
    try:
        with transaction.atomic():
            return Board.objects.create(owner=owner, name=name, visibility=visibility, team=team)
    except IntegrityError as error:
        raise BoardError(f"You already have a board called “{name}”.", field="name") from error


def board_update(
    *,
    board: Board,
    user: User,
    name: str | None = None,
    visibility: str | None = None,
    team: Team | None = None,
) -> Board:
    """Rename a board and/or share it (with ``team``, one of the owner's teams, or with
    everyone here when ``team`` is None), or stop sharing it."""
    _owner_check(board=board, user=user)
    if name is not None:
        board.name = _board_name_clean(name)
    if visibility is not None:
        _visibility_check(visibility)
        board.team = _shared_team_check(owner=board.owner, visibility=visibility, team=team)
        board.visibility = visibility
    try:
        with transaction.atomic():
            board.save(update_fields=["name", "visibility", "team", "updated_at"])
    except IntegrityError as error:
        raise BoardError(
            f"You already have a board called “{board.name}”.", field="name"
        ) from error
    return board


def board_delete(*, board: Board, user: User) -> None:
    """Remove the board and its items; the generations and their images stay."""
    _owner_check(board=board, user=user)
    board.delete()


def board_item_add(
    *, board: Board, user: User, generation: Generation, output: OutputImage | None = None
) -> BoardItem:
    """Put a whole generation, or one of its images, on ``board``; adding twice is one item."""
    _owner_check(board=board, user=user)
    _visible_check(generation=generation, user=user)
    if output is not None and output.generation_id != generation.pk:
        raise BoardError("That image belongs to another generation.")
    try:
        with transaction.atomic():
            item, _created = BoardItem.objects.get_or_create(
                board=board, generation=generation, output=output
            )
    except IntegrityError:
        # A concurrent add of the same thing won the race; its row is the answer.
        item = BoardItem.objects.get(board=board, generation=generation, output=output)
    return item


def board_item_remove(*, item: BoardItem, user: User) -> None:
    _owner_check(board=item.board, user=user)
    item.delete()


def _owner_check(*, board: Board, user: User) -> None:
    if board.owner_id != user.pk:
        raise PermissionDenied("Only the board's owner can change it.")


def _visible_check(*, generation: Generation, user: User) -> None:
    # Read straight from the database: a caller's copy may predate a delete or a visibility
    # change by its owner.
    if not generations_visible_to(user=user).filter(pk=generation.pk).exists():
        raise PermissionDenied("You cannot see that generation.")


def _board_name_clean(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise BoardError("Give the board a name.", field="name")
    if len(cleaned) > BOARD_NAME_MAX_LENGTH:
        raise BoardError(
            f"A board name may be at most {BOARD_NAME_MAX_LENGTH} characters.", field="name"
        )
    return cleaned


def _shared_team_check(*, owner: User, visibility: str, team: Team | None) -> Team | None:
    """The team a board is shared with: only for a shared board, and only a team of its
    owner's (sharing with a team one is not in would show it to strangers)."""
    if visibility != Board.Visibility.TEAM or team is None:
        return None
    if not Membership.objects.filter(team=team, user=owner).exists():
        raise BoardError(f"You are not a member of team {team}; share with one of your teams.")
    return team


def _visibility_check(visibility: str) -> None:
    if visibility not in Board.Visibility.values:
        raise BoardError(
            f"Visibility must be one of {', '.join(Board.Visibility.values)}.", field="visibility"
        )
