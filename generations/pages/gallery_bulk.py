"""``POST /gallery/bulk/``: act on the images selected in the gallery's view of images.

A plain form (the tiles' checkboxes and the selection bar's buttons), which the script only
helps fill: star or unstar, add to a board, share with the team or make private, download as
one zip, delete. Deleting asks once: a form without ``confirm=1`` gets a page that says what
will go, and its one button sends the same selection confirmed.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from generations.catalog import SpecError
from generations.models import Generation
from generations.pages.boards import board_for_add
from generations.pages.common import AuthenticatedHttpRequest, redirect_back
from generations.pages.files import outputs_zip_response
from generations.pages.forms import BoardAddForm
from generations.selectors.boards import board_choices
from generations.selectors.generations import outputs_get_visible
from generations.services.boards import BoardError
from generations.services.bulk import (
    BULK_BOARD,
    BULK_DELETE,
    BULK_MAX_IMAGES,
    BULK_STAR,
    BULK_UNSTAR,
    BULK_VISIBILITY,
    BulkResult,
    outputs_bulk_apply,
)

ZIP = "zip"
# The bar's buttons: each names its action (and, for visibility, the new one).
VISIBILITY_BUTTONS = {
    "share": Generation.Visibility.TEAM,
    "private": Generation.Visibility.PRIVATE,
}


def _selected_ids(request: AuthenticatedHttpRequest) -> list[int]:
    ids = [value for value in request.POST.getlist("ids") if value.isdigit()]
    return [int(value) for value in dict.fromkeys(ids)][:BULK_MAX_IMAGES]


@login_required
@require_POST
def gallery_bulk(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    back = reverse("gallery") + "?view=images"
    ids = _selected_ids(request)
    action = request.POST.get("action", "")
    if not ids:
        messages.error(request, "Select at least one image first (tick its box).")
        return redirect_back(request, back)
    if action == ZIP:
        visible = outputs_get_visible(user=request.user, output_ids=ids)
        response = outputs_zip_response(
            [visible[output_id] for output_id in ids if output_id in visible],
            filename=f"seedream-{len(visible)}-images.zip",
        )
        if response is None:
            messages.error(request, "None of the selected images has a file left to download.")
            return redirect_back(request, back)
        return response
    if action == BULK_DELETE and request.POST.get("confirm") != "1":
        return _delete_confirmation(request, ids)
    visibility = VISIBILITY_BUTTONS.get(action, "")
    if visibility:
        action = BULK_VISIBILITY
    board = None
    if action == BULK_BOARD:
        form = BoardAddForm(request.POST, boards=board_choices(user=request.user))
        if not form.is_valid():
            problems = [str(problem) for errors in form.errors.values() for problem in errors]
            messages.error(request, " ".join(problems))
            return redirect_back(request, back)
        try:
            board = board_for_add(request, form)
        except BoardError as error:
            messages.error(request, str(error))
            return redirect_back(request, back)
    try:
        result = outputs_bulk_apply(
            user=request.user,
            output_ids=ids,
            action=action,
            board=board,
            visibility=visibility,
            ip_address=request.META.get("REMOTE_ADDR"),
        )
    except (SpecError, PermissionDenied) as error:
        messages.error(request, str(error))
        return redirect_back(request, back)
    _report(
        request, result, visibility=visibility, board_name=board.name if board is not None else ""
    )
    return redirect_back(request, back)


def _report(
    request: AuthenticatedHttpRequest, result: BulkResult, *, visibility: str, board_name: str
) -> None:
    """One message for what was done, one for each reason something was left as it was."""
    done = len(result.changed_output_ids)
    images = f"{done} image{pluralize(done)}"
    summaries = {
        BULK_STAR: f"Starred {images}.",
        BULK_UNSTAR: f"Unstarred {images}.",
        BULK_BOARD: f"Added {images} to “{board_name}”.",
        BULK_VISIBILITY: f"Shared {images} with the team."
        if visibility == Generation.Visibility.TEAM
        else f"Made {images} private.",
        BULK_DELETE: f"Deleted {images} with their generations. Your credits are not affected.",
    }
    if done:
        messages.success(request, summaries[result.action])
    if result.not_yours_output_ids:
        messages.warning(
            request,
            f"{len(result.not_yours_output_ids)} of {result.selected} were not yours and were "
            "left as they were.",
        )
    if result.refused_output_ids:
        messages.warning(
            request,
            f"{len(result.refused_output_ids)} of {result.selected} were left as they were: "
            f"{result.refused_reason}",
        )


def _safe_next(request: AuthenticatedHttpRequest) -> str:
    """The page the selection was made on, if it is one of ours (as ``redirect_back``)."""
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else ""


def _delete_confirmation(request: AuthenticatedHttpRequest, ids: list[int]) -> HttpResponse:
    visible = outputs_get_visible(user=request.user, output_ids=ids)
    own = [
        output
        for output in visible.values()
        if output.generation.owner_id == request.user.pk or request.user.is_staff
    ]
    generations = {output.generation_id for output in own}
    context = {
        "ids": [output_id for output_id in ids if output_id in visible],
        "images": len(own),
        "generations": len(generations),
        "others": len(visible) - len(own),
        "next": _safe_next(request),
    }
    return render(request, "generations/bulk_delete.html", context)
