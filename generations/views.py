"""Pages of the workspace. Each view translates the request, calls one service or selector,
and renders; business rules live in services."""

import dataclasses
import time
import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts.services.credits import InsufficientCredits
from accounts.services.pricing import PriceMissing, quote

from .catalog import SpecError, list_models, validate_spec
from .forms import ComposeForm
from .media_links import VARIANT_THUMBNAIL, link_check
from .models import OutputImage
from .selectors import generation_get_visible, generation_list_recent, output_get_visible
from .services import IdempotencyConflict, generation_submit


@login_required
@require_http_methods(["GET", "POST"])
def workspace(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ComposeForm(request.POST, request.FILES)
        if form.is_valid():
            references = [upload.read() for upload in form.cleaned_data["references"]]
            try:
                generation = generation_submit(
                    user=request.user,
                    spec=form.to_spec(),
                    references=references,
                    idempotency_key=request.POST.get("idempotency_key", ""),
                    visibility=form.cleaned_data["visibility"],
                )
            except SpecError as error:
                form.add_spec_errors(error.errors)
            except (IdempotencyConflict, InsufficientCredits) as error:
                form.add_error(None, str(error))
            else:
                # Back to the workspace with the same settings filled in for the next variation.
                return redirect(f"{reverse('workspace')}?reuse={generation.id}")
        status = 400
    else:
        form = ComposeForm(initial=_reuse_initial(request))
        status = 200
    context = {
        "form": form,
        "generations": generation_list_recent(
            user=request.user, limit=settings.WORKSPACE_RECENT_LIMIT
        ),
        "catalog": [model.as_dict() for model in list_models()],
    }
    return render(request, "generations/workspace.html", context, status=status)


def _reuse_initial(request: HttpRequest) -> dict:
    generation_id = request.GET.get("reuse", "")
    generation = (
        generation_get_visible(user=request.user, generation_id=generation_id)
        if _is_uuid(generation_id)
        else None
    )
    if generation is None:
        return {}
    params = generation.params
    return {
        "model": generation.model,
        "prompt": generation.prompt,
        "size": params.get("size", ""),
        "aspect_ratio": params.get("aspect_ratio", ""),
        "num_images": generation.num_images,
        "seed": params.get("seed"),
        "guidance_scale": params.get("guidance_scale"),
        "visibility": generation.visibility,
    }


@login_required
@require_GET
def compose_quote(request: HttpRequest) -> HttpResponse:
    """The live cost preview of the compose form (htmx): what the current settings would hold."""
    form = ComposeForm(request.GET)
    form.fields["references"].required = False
    context: dict = {"quote": None, "problem": ""}
    if form.is_valid():
        references = len(request.GET.getlist("references"))
        spec = form.to_spec()
        try:
            resolved = validate_spec(dataclasses.replace(spec, reference_count=references))
            context["quote"] = quote(spec=resolved)
        except SpecError as error:
            context["problem"] = next(iter(error.errors.values()))[0]
        except PriceMissing as error:
            context["problem"] = str(error)
    else:
        context["problem"] = "Fill in the form to see the price."
    return render(request, "generations/_quote.html", context)


@login_required
@require_GET
def generation_card(request: HttpRequest, generation_id: str) -> HttpResponse:
    """One generation's card; polled by htmx until the generation reaches a terminal state."""
    generation = generation_get_visible(user=request.user, generation_id=generation_id)
    if generation is None:
        raise Http404("No such generation.")
    return render(request, "generations/_card.html", {"generation": generation})


@login_required
@require_GET
def generation_detail(request: HttpRequest, generation_id: str) -> HttpResponse:
    generation = generation_get_visible(user=request.user, generation_id=generation_id)
    if generation is None:
        raise Http404("No such generation.")
    return render(request, "generations/detail.html", {"generation": generation})


@login_required
@require_GET
def output_file(request: HttpRequest, output_id: int, variant: str) -> FileResponse:
    """An output image or its thumbnail, only for someone who may see its generation."""
    output = output_get_visible(user=request.user, output_id=output_id)
    if output is None:
        raise Http404("No such image.")
    name = output.thumbnail.name if variant == "thumbnail" else output.file.name
    response = FileResponse(default_storage.open(name, "rb"))
    response["Content-Type"] = "image/jpeg" if variant == "thumbnail" else f"image/{output.format}"
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_GET
def media_signed(request: HttpRequest, output_id: int, variant: str) -> HttpResponseBase:
    """An output image behind a signed, expiring link (``generations.media_links``).

    No session: the signature is the permission. It binds the id, the variant and the expiry,
    so a 403 is all a guesser ever sees, whether the image exists or not.
    """
    check = link_check(
        output_id=output_id,
        variant=variant,
        exp=request.GET.get("exp", ""),
        sig=request.GET.get("sig", ""),
        now=time.time(),
    )
    if not check.valid:
        return HttpResponseForbidden(check.problem, content_type="text/plain; charset=utf-8")
    # A deleted generation's links die with it, even before its files are removed.
    output = OutputImage.objects.filter(pk=output_id, generation__deleted_at__isnull=True).first()
    if output is None:
        raise Http404("No such image.")
    is_thumbnail = variant == VARIANT_THUMBNAIL
    name = output.thumbnail.name if is_thumbnail else output.file.name
    if not name or not default_storage.exists(name):
        raise Http404("No such image.")
    response = FileResponse(default_storage.open(name, "rb"))
    response["Content-Type"] = "image/jpeg" if is_thumbnail else f"image/{output.format}"
    # Shared caches must not keep it, and the browser no longer than the link is valid.
    response["Cache-Control"] = f"private, max-age={check.remaining_s}"
    return response


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
