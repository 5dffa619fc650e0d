"""Comparison runs: ``/compare/new/`` runs one prompt on several models, ``/comparisons/<id>/``
shows their generations side by side (live while they run) and shares them like a board."""

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.services.teams import wallet_for_request
from generations.catalog import get_model
from generations.models import Comparison, Generation, ProviderAttempt
from generations.pages.common import AuthenticatedHttpRequest, form_add_service_error
from generations.pages.compare_forms import COMPARE_FIELD_TO_FORM_FIELD, CompareForm
from generations.pages.compose import wallet_catalogs
from generations.selectors.comparisons import comparison_get_visible, comparison_list_visible
from generations.selectors.generations import generation_is_demo
from generations.selectors.wallets import wallet_choice_find, wallet_choices_get
from generations.services.comparisons import comparison_run, comparison_visibility_set
from generations.templatetags.studio import duration
from studio_core.errors import ServiceError

RECENT_COMPARISONS = 12


@dataclass(frozen=True)
class Column:
    """One model's generation in a comparison, with the facts shown under its images."""

    generation: Generation
    provider: str
    seconds: float | None

    @property
    def time_taken(self) -> str:
        """ "0.4 s" under ten seconds (demo and fast models differ by fractions), else as the
        cards say it ("2 min 05 s"); "" while it runs."""
        if self.seconds is None:
            return ""
        if self.seconds < 10:
            return f"{self.seconds:.1f} s"
        return duration(self.seconds)

    @property
    def is_demo(self) -> bool:
        """Its images are the demo renderer's placeholders (read from the prefetched calls)."""
        return generation_is_demo(self.generation)

    @property
    def cost(self) -> int:
        """Credits charged once it ended; while it runs, what is held for it."""
        generation = self.generation
        return generation.credits_charged if generation.is_terminal else generation.credits_held


def _provider_of(attempts: list[ProviderAttempt]) -> str:
    """The kind of provider that delivered the images (the last call that returned some), else
    of the last one tried; "" before any call. Which of our accounts served it stays internal,
    as on the detail page."""
    delivering = [attempt for attempt in attempts if attempt.images_returned]
    chosen = (delivering or attempts)[-1:]
    return chosen[0].provider_kind if chosen else ""


def _seconds_taken(generation: Generation) -> float | None:
    """From when a worker started it to its end; None until it has ended."""
    start = generation.started_at or generation.created_at
    if generation.finished_at is None:
        return None
    return max(0.0, (generation.finished_at - start).total_seconds())


def comparison_context(comparison: Comparison) -> dict[str, Any]:
    """What the columns partial renders: a column per visible generation, and whether any is
    still running (then the partial polls itself)."""
    columns = comparison_columns(comparison)
    running = any(not column.generation.is_terminal for column in columns)
    return {"comparison": comparison, "columns": columns, "running": running}


def comparison_columns(comparison: Comparison) -> list[Column]:
    return [
        Column(
            generation=entry.generation,
            provider=_provider_of(list(entry.generation.attempts.all())),
            seconds=_seconds_taken(entry.generation),
        )
        for entry in comparison.entries.all()
    ]


def _comparison_or_404(request: AuthenticatedHttpRequest, comparison_id: object) -> Comparison:
    """The comparison if the user may open it; any other id, existing or not, is a 404."""
    comparison = comparison_get_visible(user=request.user, comparison_id=str(comparison_id))
    if comparison is None:
        raise Http404("No such comparison.")
    return comparison


@login_required
@require_http_methods(["GET", "POST"])
def comparison_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Choose the models and the common settings, then run them all."""
    user = request.user
    wallets = wallet_choices_get(user=user)
    catalogs = wallet_catalogs(user=user, wallets=wallets)
    charged = wallet_choice_find(wallets, request.POST.get("charge_to") or "")
    model_ids = [model["id"] for model in catalogs[charged.slug]]
    if request.method == "POST":
        form = CompareForm(request.POST, request.FILES, wallets=wallets, model_ids=model_ids)
        if form.is_valid():
            comparison = _run(request, form)
            if comparison is not None:
                return redirect("comparison-detail", comparison_id=comparison.pk)
        status = 400
    else:
        initial = {"prompt": request.GET.get("prompt", "")[:4000]}
        form = CompareForm(initial=initial, wallets=wallets, model_ids=model_ids)
        status = 200
    context = {
        "form": form,
        "idempotency_key": uuid.uuid4().hex,
        "comparisons": comparison_list_visible(user=user, limit=RECENT_COMPARISONS),
    }
    return render(request, "generations/comparison_new.html", context, status=status)


def _run(request: AuthenticatedHttpRequest, form: CompareForm) -> Comparison | None:
    data = form.cleaned_data
    idempotency_key = request.POST.get("idempotency_key", "")[:255].replace("\x00", "")
    try:
        run = comparison_run(
            user=request.user,
            prompt=data["prompt"],
            models=data["models"],
            references=[upload.read() for upload in data["references"]],
            wallet=wallet_for_request(user=request.user, team_slug=form.charge_to_slug()),
            size=data.get("size") or "",
            aspect_ratio=data.get("aspect_ratio") or "",
            num_images=data["num_images"],
            visibility=data["visibility"],
            shared_team=form.shared_team(),
            idempotency_key=idempotency_key,
        )
    except ServiceError as error:
        form_add_service_error(form, error, field_names=COMPARE_FIELD_TO_FORM_FIELD)
        return None
    for refusal in run.refusals:
        messages.error(
            request, f"{get_model(refusal['model']).label} was not started: {refusal['message']}"
        )
    return run.comparison


@login_required
@require_GET
def comparison_detail(request: AuthenticatedHttpRequest, comparison_id: uuid.UUID) -> HttpResponse:
    comparison = _comparison_or_404(request, comparison_id)
    context = {
        **comparison_context(comparison),
        "may_share": comparison.owner_id == request.user.pk,
    }
    return render(request, "generations/comparison.html", context)


@login_required
@require_GET
def comparison_columns_view(
    request: AuthenticatedHttpRequest, comparison_id: uuid.UUID
) -> HttpResponse:
    """The side-by-side columns alone; polled by htmx until every generation has ended."""
    comparison = _comparison_or_404(request, comparison_id)
    return render(request, "generations/_comparison_columns.html", comparison_context(comparison))


@login_required
@require_POST
def comparison_visibility_view(
    request: AuthenticatedHttpRequest, comparison_id: uuid.UUID
) -> HttpResponse:
    comparison = _comparison_or_404(request, comparison_id)
    visibility = request.POST.get("visibility", "")
    try:
        comparison_visibility_set(comparison=comparison, user=request.user, visibility=visibility)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        shared = visibility == Comparison.Visibility.TEAM
        messages.success(
            request,
            "Shared: teammates who can open it see every model's images."
            if shared
            else "Only you can see this comparison and its images now.",
        )
    return redirect(reverse("comparison-detail", args=[comparison.pk]))
