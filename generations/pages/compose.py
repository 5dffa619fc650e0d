"""The workspace at ``/``: the compose form, its live price, and the live cards of recent work."""

import dataclasses
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.services.budgets import BudgetStanding, budget_standings, budgets_applying
from accounts.services.charge_to import charge_to_remember
from accounts.services.policies import policy_check
from accounts.services.pricing import price_quote
from accounts.services.teams import wallet_for_request
from generations.catalog import MAX_REFERENCE_IMAGES, validate_spec
from generations.pages.common import (
    AuthenticatedHttpRequest,
    form_add_service_error,
    generation_or_404,
    is_htmx,
    is_uuid,
    redirect_back,
)
from generations.pages.forms import SPEC_FIELD_TO_FORM_FIELD, ComposeForm
from generations.selectors.generations import (
    generation_get_card,
    generation_get_visible,
    generation_list_recent,
    outputs_get_visible,
    references_get_visible,
)
from generations.selectors.wallets import WalletChoice, wallet_choice_find, wallet_choices_get
from generations.services import (
    GenerationNotCancelable,
    generation_cancel,
    generation_submit,
)
from generations.services.access import caller_policies, catalog_for
from studio_core.errors import ServiceError
from studio_core.parsing import int_from_text

# The htmx event a settled card sends; the price preview listens for it (workspace.html).
BALANCE_CHANGED_EVENT = "balance-changed"
# Prefixes of the compose form's carried-reference values: "o:<output id>", "r:<reference id>".
OUTPUT_TOKEN = "o"  # noqa: S105 - a form value prefix, not a secret
REFERENCE_TOKEN = "r"  # noqa: S105 - a form value prefix, not a secret


@dataclasses.dataclass(frozen=True)
class CarriedImage:
    """An image of an earlier generation offered as a reference in the compose form.

    ``token`` ("o:<output id>" or "r:<reference id>") is what the form posts back; the server
    resolves it again on submit, so a posted token only ever yields an image the user may see.
    """

    token: str
    label: str
    preview_url: str
    storage_name: str
    # The model and prompt of the generation the image came from ("" for a reference image):
    # "Use as reference" carries them into the form with the image.
    model: str = ""
    prompt: str = ""

    def read(self) -> bytes:
        with default_storage.open(self.storage_name, "rb") as stored:
            return stored.read()


def carried_resolve(*, user: User, tokens: Iterable[str]) -> list[CarriedImage]:
    """The images behind ``tokens`` that ``user`` may see, in the given order, each once."""
    parsed: list[tuple[str, int]] = []
    for token in tokens:
        kind, _, digits = token.partition(":")
        image_id = int_from_text(digits)
        if kind not in (OUTPUT_TOKEN, REFERENCE_TOKEN) or image_id is None:
            continue
        if (kind, image_id) not in parsed:
            parsed.append((kind, image_id))
    # No request needs more than the catalog's largest reference count; more is only work.
    parsed = parsed[:MAX_REFERENCE_IMAGES]
    outputs = outputs_get_visible(
        user=user, output_ids=[number for kind, number in parsed if kind == OUTPUT_TOKEN]
    )
    references = references_get_visible(
        user=user, reference_ids=[number for kind, number in parsed if kind == REFERENCE_TOKEN]
    )
    carried: list[CarriedImage] = []
    for kind, number in parsed:
        if kind == OUTPUT_TOKEN and number in outputs:
            output = outputs[number]
            carried.append(
                CarriedImage(
                    token=f"{OUTPUT_TOKEN}:{number}",
                    label=f"Image {output.index + 1} of “{output.generation.prompt[:40]}”",
                    preview_url=reverse("output-thumbnail", args=[number]),
                    storage_name=output.file.name or "",
                    model=output.generation.model,
                    prompt=output.generation.prompt,
                )
            )
        elif kind == REFERENCE_TOKEN and number in references:
            reference = references[number]
            carried.append(
                CarriedImage(
                    token=f"{REFERENCE_TOKEN}:{number}",
                    label=f"Reference {reference.position + 1} of an earlier generation",
                    preview_url=reverse("reference-file", args=[number]),
                    storage_name=reference.file.name or "",
                )
            )
    return carried


def wallet_catalogs(*, user: User, wallets: list[WalletChoice]) -> dict[str, list[dict[str, Any]]]:
    """For each "Charge to" choice (by its slug), the catalog its wallet's policy allows: the
    compose form's models, sizes and image counts follow the wallet chosen."""
    return {
        choice.slug: catalog_for(caller_policies(user=user, api_key=None, wallet=choice.wallet))
        for choice in wallets
    }


def _remembered_wallet(user: User, wallets: list[WalletChoice]) -> str:
    """The slug of the team the user last charged, while they are still in it; else ""."""
    return next(
        (choice.slug for choice in wallets if choice.team and choice.team.pk == user.charge_to_id),
        "",
    )


@login_required
@require_http_methods(["GET", "POST"])
def workspace(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    wallets = wallet_choices_get(user=user)
    catalogs = wallet_catalogs(user=user, wallets=wallets)
    if request.method == "POST":
        carried = carried_resolve(user=user, tokens=request.POST.getlist("carried_references"))
        charged = wallet_choice_find(wallets, request.POST.get("charge_to"))
        form = ComposeForm(
            request.POST,
            request.FILES,
            carried=carried,
            wallets=wallets,
            model_ids=[model["id"] for model in catalogs[charged.slug]],
        )
        generation_id = _submit(request, form) if form.is_valid() else None
        if generation_id is not None:
            # Back to the workspace with the same settings filled in for the next variation.
            return redirect(f"{reverse('workspace')}?reuse={generation_id}")
        status = 400
    else:
        initial, tokens = _prefill(request, wallets)
        initial.setdefault("charge_to", _remembered_wallet(user, wallets))
        initial.setdefault("share_with", initial["charge_to"])
        charged = wallet_choice_find(wallets, initial["charge_to"])
        carried = carried_resolve(user=user, tokens=tokens)
        initial["carried_references"] = [image.token for image in carried]
        _prefill_from_output(initial, carried, allowed=catalogs[charged.slug])
        form = ComposeForm(
            initial=initial,
            carried=carried,
            wallets=wallets,
            model_ids=[model["id"] for model in catalogs[charged.slug]],
        )
        status = 200
    context = {
        "form": form,
        "generations": generation_list_recent(user=user, limit=settings.WORKSPACE_RECENT_LIMIT),
        "catalog": catalogs[charged.slug],
        # Every wallet's catalog, for the form to follow a change of "Charge to" without a
        # reload; only someone in a team has more than one.
        "wallet_catalogs": catalogs if len(wallets) > 1 else None,
        # A fresh key per rendered form: a double click sends the same one, so it makes one
        # generation and one hold; the next variation gets a new form and a new key.
        "idempotency_key": uuid.uuid4().hex,
        "max_upload_bytes": settings.REFERENCE_MAX_BYTES,
        "max_upload_mb": settings.REFERENCE_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "generations/workspace.html", context, status=status)


def _submit(request: AuthenticatedHttpRequest, form: ComposeForm) -> str | None:
    """Submit the valid form; errors are added to it and None returned."""
    try:
        references = [image.read() for image in form.carried_chosen()]
    except OSError:
        form.add_error("carried_references", "A kept reference image is no longer stored.")
        return None
    references += [upload.read() for upload in form.cleaned_data["references"]]
    idempotency_key = request.POST.get("idempotency_key", "")[:255]
    if "\x00" in idempotency_key:
        # Not a key this page wrote (those are hex), and PostgreSQL cannot store the character.
        form.add_error(None, "This form was damaged on its way here: reload the page and retry.")
        return None
    try:
        wallet = wallet_for_request(user=request.user, team_slug=form.charge_to_slug())
        generation = generation_submit(
            user=request.user,
            spec=form.to_spec(),
            references=references,
            wallet=wallet,
            idempotency_key=idempotency_key,
            visibility=form.cleaned_data["visibility"],
            shared_team=form.shared_team(),
        )
    except ServiceError as error:
        form_add_service_error(form, error, field_names=SPEC_FIELD_TO_FORM_FIELD)
        return None
    if "charge_to" in form.fields:
        charge_to_remember(user=request.user, team=wallet.team if wallet.team_id else None)
    return str(generation.id)


def _prefill(
    request: AuthenticatedHttpRequest, wallets: list[WalletChoice]
) -> tuple[dict[str, Any], list[str]]:
    """Initial values from ``?reuse=<generation>`` and ``?reference_output=<image>``; a reused
    generation's wallet and team too, when they are still the user's."""
    initial: dict[str, Any] = {}
    tokens: list[str] = []
    generation_id = request.GET.get("reuse", "")
    generation = (
        generation_get_visible(user=request.user, generation_id=generation_id)
        if is_uuid(generation_id)
        else None
    )
    if generation is not None:
        params = generation.params
        initial = {
            "model": generation.model,
            "prompt": generation.prompt,
            "size": params.get("size", ""),
            "aspect_ratio": params.get("aspect_ratio", ""),
            "num_images": generation.num_images,
            "seed": params.get("seed"),
            "guidance_scale": params.get("guidance_scale"),
            "visibility": generation.visibility,
        }
        for choice in wallets:
            if choice.wallet.pk == generation.wallet_id:
                initial["charge_to"] = choice.slug
            if choice.team is not None and choice.team.pk == generation.shared_team_id:
                initial["share_with"] = choice.slug
        if generation.shared_team_id is None and len(wallets) > 1:
            initial["share_with"] = ""
        tokens = [f"{REFERENCE_TOKEN}:{reference.pk}" for reference in generation.references.all()]
    tokens += [
        f"{OUTPUT_TOKEN}:{value}"
        for value in request.GET.getlist("reference_output")
        if int_from_text(value) is not None
    ]
    return initial, tokens


def _prefill_from_output(
    initial: dict[str, Any], carried: list[CarriedImage], *, allowed: list[dict[str, Any]]
) -> None:
    """ "Use as reference" (``?reference_output=``, no reuse): the form keeps the model and the
    prompt of the image's generation, so the next edit starts from where that one was. The
    model stays only where it takes reference images and the wallet's policy allows it."""
    if "model" in initial:
        return
    source = next((image for image in carried if image.model), None)
    if source is None:
        return
    initial["prompt"] = source.prompt
    if any(model["id"] == source.model and model["max_references"] for model in allowed):
        initial["model"] = source.model


@login_required
@require_GET
def compose_quote(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The live cost preview of the compose form (htmx): what the current settings would hold,
    from which wallet and its balance, and the tightest budget it must fit."""
    user = request.user
    wallets = wallet_choices_get(user=user)
    charged = wallet_choice_find(wallets, request.GET.get("charge_to"))
    form = ComposeForm(request.GET, wallets=wallets)
    # The price needs only how many references there are, not which: the kept ones are
    # counted from the query, without resolving (or rejecting) each image.
    del form.fields["carried_references"]
    context: dict[str, Any] = {"quote": None, "problem": ""}
    if form.is_valid():
        upload_count = int_from_text(request.GET.get("upload_count"), maximum=10_000) or 0
        references = len(request.GET.getlist("carried_references")) + upload_count
        spec = form.to_spec()
        try:
            resolved = validate_spec(dataclasses.replace(spec, reference_count=references))
            quote = price_quote(spec=resolved)
            policy_check(
                policies=caller_policies(user=user, api_key=None, wallet=charged.wallet),
                model=resolved.model,
                size_tier=quote.size_tier,
                num_images=resolved.num_images,
            )
            context["quote"] = quote
        except ServiceError as error:
            context["problem"] = error.message
    else:
        context["problem"] = "Write a prompt to see the price."
    wallet = charged.wallet
    context["wallet_name"] = charged.name if len(wallets) > 1 else ""
    context["balance"] = wallet
    context["budget"] = _tightest_budget(charged, user=user)
    if context["quote"] is not None:
        total = context["quote"].total
        context["remaining"] = wallet.available - total
        context["shortfall"] = max(0, -context["remaining"])
        budget = context["budget"]
        context["over_budget"] = budget is not None and total > budget.left
    return render(request, "generations/_quote.html", context)


def _tightest_budget(charged: WalletChoice, *, user: User) -> BudgetStanding | None:
    """Of the budgets a generation charged to this wallet must fit, the one with the fewest
    credits left this period (None when none applies)."""
    budgets = budgets_applying(wallet=charged.wallet, user=user, api_key=None)
    if not budgets:
        return None
    return min(budget_standings(budgets), key=lambda standing: standing.left)


@login_required
@require_GET
def generation_card(request: AuthenticatedHttpRequest, generation_id: str) -> HttpResponse:
    """One generation's card; polled by htmx until the generation reaches a terminal state."""
    return _card_response(request, generation_id)


@login_required
@require_POST
def generation_cancel_view(request: AuthenticatedHttpRequest, generation_id: str) -> HttpResponse:
    """Stop a queued or running generation; its whole hold is returned."""
    generation = generation_or_404(request, generation_id)
    try:
        generation_cancel(generation=generation, user=request.user)
    except GenerationNotCancelable as error:
        messages.error(request, str(error))
    if is_htmx(request):
        return _card_response(request, generation_id)
    return redirect_back(request, reverse("workspace"))


def _card_response(request: AuthenticatedHttpRequest, generation_id: str) -> HttpResponse:
    generation = generation_get_card(user=request.user, generation_id=str(generation_id))
    if generation is None:
        raise Http404("No such generation.")
    # When the card reaches its end the hold has been settled: the top bar's balance is
    # refreshed out of band, and the price preview told to re-read it, once rather than on
    # every poll.
    settled = is_htmx(request) and generation.is_terminal
    response = render(
        request, "generations/_card.html", {"generation": generation, "refresh_balance": settled}
    )
    if settled:
        response["HX-Trigger"] = BALANCE_CHANGED_EVENT
    return response
