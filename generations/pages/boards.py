"""Boards: named collections of generations or single images, private or shared."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.services.teams import teams_of
from generations.models import Board, Generation
from generations.pages.common import (
    AuthenticatedHttpRequest,
    form_add_service_error,
    generation_or_404,
    page_back,
    redirect_back,
)
from generations.pages.detail import can_change
from generations.pages.forms import BoardAddForm, BoardForm
from generations.selectors.boards import (
    board_audience_sees,
    board_choices,
    board_get_owned,
    board_get_visible,
    board_item_get_owned,
    board_items_visible,
    board_list_visible,
)
from generations.services.boards import (
    BoardError,
    board_create,
    board_delete,
    board_item_add,
    board_item_remove,
    board_update,
)


@login_required
@require_http_methods(["GET", "POST"])
def boards_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's boards and the team's shared ones; a POST makes a new board."""
    status = 200
    teams = teams_of(request.user)
    if request.method == "POST":
        form = BoardForm(request.POST, teams=teams)
        if form.is_valid():
            try:
                board = board_create(
                    owner=request.user,
                    name=form.cleaned_data["name"],
                    visibility=form.visibility(),
                    team=form.team(),
                )
            except BoardError as error:
                form_add_service_error(form, error)
            else:
                return redirect("board-detail", board_id=board.pk)
        status = 400
    else:
        form = BoardForm(teams=teams)
    boards = board_list_visible(user=request.user)
    context = {
        "form": form,
        "own_boards": [board for board in boards if board.owner_id == request.user.pk],
        "shared_boards": [board for board in boards if board.owner_id != request.user.pk],
    }
    return render(request, "generations/boards.html", context, status=status)


@login_required
@require_GET
def board_detail(request: AuthenticatedHttpRequest, board_id: int) -> HttpResponse:
    board = board_get_visible(user=request.user, board_id=board_id)
    if board is None:
        raise Http404("No such board.")
    is_owner = board.owner_id == request.user.pk
    context = {
        "board": board,
        "items": board_items_visible(board=board, user=request.user),
        "is_owner": is_owner,
        "form": BoardForm(
            initial={
                "name": board.name,
                "shared": board.is_shared,
                "share_with": board.team.slug if board.team else "",
            },
            teams=teams_of(request.user),
        )
        if is_owner
        else None,
    }
    return render(request, "generations/board.html", context)


@login_required
@require_POST
def board_update_view(request: AuthenticatedHttpRequest, board_id: int) -> HttpResponse:
    """Rename a board or change whether the team sees it."""
    board = _owned_or_404(request, board_id)
    form = BoardForm(request.POST, teams=teams_of(request.user))
    if form.is_valid():
        try:
            board_update(
                board=board,
                user=request.user,
                name=form.cleaned_data["name"],
                visibility=form.visibility(),
                team=form.team(),
            )
        except BoardError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _shared_message(board))
    else:
        messages.error(request, "Give the board a name.")
    return redirect("board-detail", board_id=board.pk)


@login_required
@require_POST
def board_delete_view(request: AuthenticatedHttpRequest, board_id: int) -> HttpResponse:
    board = _owned_or_404(request, board_id)
    board_delete(board=board, user=request.user)
    messages.success(request, f"Board “{board.name}” deleted. Its images are still in the gallery.")
    return redirect("boards")


@login_required
@require_POST
def board_item_add_view(request: AuthenticatedHttpRequest, generation_id: str) -> HttpResponse:
    """Put the generation (or one image of it, ``output``) on a board, new or existing."""
    generation = generation_or_404(request, generation_id)
    detail_url = reverse("generation-detail", args=[generation.id])
    form = BoardAddForm(request.POST, boards=board_choices(user=request.user))
    if not form.is_valid():
        problems = [str(problem) for errors in form.errors.values() for problem in errors]
        messages.error(request, " ".join(problems))
        return redirect_back(request, detail_url)
    output = None
    if form.cleaned_data["output"] is not None:
        output = next(
            (item for item in generation.outputs.all() if item.pk == form.cleaned_data["output"]),
            None,
        )
        if output is None:
            raise Http404("No such image in this generation.")
    try:
        board = board_for_add(request, form)
        board_item_add(board=board, user=request.user, generation=generation, output=output)
    except BoardError as error:
        messages.error(request, str(error))
        return redirect_back(request, detail_url)
    what = f"Image {output.index + 1}" if output is not None else "Generation"
    if not board_audience_sees(board=board, generation=generation):
        return _hidden_on_board(request, board=board, generation=generation, what=what)
    messages.success(request, f"{what} added to “{board.name}”.")
    return redirect_back(request, detail_url)


def _hidden_on_board(
    request: AuthenticatedHttpRequest, *, board: Board, generation: Generation, what: str
) -> HttpResponse:
    """The item is on the board, but the board's audience will not see it: say so rather than
    "added", and offer the one change that would show it (when there is one the user may
    make), through the generation's visibility form."""
    back = page_back(request, reverse("generation-detail", args=[generation.id]))
    context = {
        "board": board,
        "generation": generation,
        "what": what,
        "back": back,
        "can_share": can_change(request, generation)
        and board_audience_sees(
            board=board, generation=generation, visibility=Generation.Visibility.TEAM
        ),
    }
    return render(request, "generations/board_add_hidden.html", context)


@login_required
@require_POST
def board_item_remove_view(request: AuthenticatedHttpRequest, item_id: int) -> HttpResponse:
    item = board_item_get_owned(user=request.user, item_id=item_id)
    if item is None:
        raise Http404("No such board item.")
    board_item_remove(item=item, user=request.user)
    messages.success(request, f"Removed from “{item.board.name}”.")
    return redirect_back(request, reverse("board-detail", args=[item.board_id]))


def _shared_message(board: Board) -> str:
    if not board.is_shared:
        return "Board saved; only you see it."
    if board.team is not None:
        return f"Shared with team {board.team}."
    return "Shared with the team."


def board_for_add(request: AuthenticatedHttpRequest, form: BoardAddForm) -> Board:
    board_id = form.cleaned_data["board"]
    if board_id is None:
        return board_create(owner=request.user, name=form.cleaned_data["new_board_name"])
    return _owned_or_404(request, board_id)


def _owned_or_404(request: AuthenticatedHttpRequest, board_id: int) -> Board:
    board = board_get_owned(user=request.user, board_id=board_id)
    if board is None:
        raise Http404("No such board.")
    return board
