"""A generation's own page and its actions: star, visibility, delete."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from generations.catalog import SpecError
from generations.models import Generation, OutputImage
from generations.pages.common import (
    AuthenticatedHttpRequest,
    generation_or_404,
    is_htmx,
    redirect_back,
)
from generations.pages.forms import BoardAddForm
from generations.pages.gallery_link import gallery_filters_from_query, gallery_query
from generations.selectors.boards import board_choices, board_items_of_generation
from generations.selectors.generations import generation_gallery_neighbours
from generations.services.boards import generation_star_set
from generations.services.lifecycle import GenerationNotDeletable, generation_delete
from generations.services.visibility import generation_visibility_set


def can_change(request: AuthenticatedHttpRequest, generation: Generation) -> bool:
    # Mirrors generations.services.lifecycle.generation_change_check, to hide buttons that would
    # only be refused; the services check again on every POST.
    return generation.owner_id == request.user.pk or request.user.is_staff


@dataclass(frozen=True)
class ImageSlot:
    """One place of the group the generation asked for: its image, or why there is none."""

    index: int
    output: OutputImage | None = None
    missing_reason: str = ""


def image_slots(generation: Generation, outputs: list[OutputImage]) -> list[ImageSlot]:
    """Every image asked for, in order, each delivered one or the reason it is missing
    (``Generation.image_errors``, else the generation's own error). Empty while the
    generation runs and nothing arrived yet, and for a finished one with no image at all
    (the page then says so once)."""
    if not outputs:
        return []
    by_index = {output.index: output for output in outputs}
    errors = {
        error.get("index"): error.get("message") or error.get("code") or ""
        for error in generation.image_errors or []
        if isinstance(error, dict)
    }
    count = max(generation.num_images, max(by_index) + 1)
    fallback = (
        generation.error_message or "The provider returned fewer images than were asked for."
        if generation.is_terminal
        else "Still on its way."
    )
    return [
        ImageSlot(index=index, output=by_index[index])
        if index in by_index
        else ImageSlot(index=index, missing_reason=errors.get(index) or fallback)
        for index in range(count)
    ]


@login_required
@require_GET
def generation_detail(request: AuthenticatedHttpRequest, generation_id: str) -> HttpResponse:
    generation = generation_or_404(request, generation_id)
    boards = board_choices(user=request.user)
    outputs = list(generation.outputs.all())
    filters = gallery_filters_from_query(user=request.user, query=request.GET)
    neighbours = (
        generation_gallery_neighbours(user=request.user, filters=filters, generation=generation)
        if filters is not None
        else None
    )
    context = {
        "generation": generation,
        "outputs": outputs,
        "slots": image_slots(generation, outputs),
        "neighbours": neighbours,
        "gallery_query": gallery_query(request.GET) if filters is not None else "",
        "can_change": can_change(request, generation),
        "board_form": BoardAddForm(boards=boards),
        "boards": boards,
        "board_items": board_items_of_generation(user=request.user, generation=generation),
    }
    return render(request, "generations/detail.html", context)


@login_required
@require_POST
def generation_star(request: AuthenticatedHttpRequest, generation_id: str) -> HttpResponse:
    """Star (``starred=1``) or unstar a generation the user can see."""
    generation = generation_or_404(request, generation_id)
    starred = generation_star_set(
        generation=generation, user=request.user, starred=request.POST.get("starred") == "1"
    )
    if is_htmx(request):
        generation.is_starred = starred  # type: ignore[attr-defined]
        return render(request, "generations/_star.html", {"generation": generation})
    return redirect_back(request, reverse("generation-detail", args=[generation.id]))


@login_required
@require_POST
def generation_visibility(request: AuthenticatedHttpRequest, generation_id: str) -> HttpResponse:
    generation = generation_or_404(request, generation_id)
    try:
        generation = generation_visibility_set(
            generation=generation, user=request.user, visibility=request.POST.get("visibility", "")
        )
    except SpecError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            "Shared with the team."
            if generation.visibility == Generation.Visibility.TEAM
            else "Now only you can see it.",
        )
    return redirect_back(request, reverse("generation-detail", args=[generation.id]))


@login_required
@require_http_methods(["GET", "POST"])
def generation_delete_view(request: AuthenticatedHttpRequest, generation_id: str) -> HttpResponse:
    """GET asks for confirmation (the page works without JavaScript); POST deletes."""
    generation = generation_or_404(request, generation_id)
    if not can_change(request, generation):
        raise PermissionDenied("Only the generation's owner can delete it.")
    if request.method == "GET":
        return render(request, "generations/delete.html", {"generation": generation})
    try:
        generation_delete(generation=generation, user=request.user)
    except GenerationNotDeletable as error:
        messages.error(request, str(error))
        return redirect("generation-detail", generation_id=generation.id)
    messages.success(request, "Deleted. Your credits are not affected.")
    return redirect("gallery")
