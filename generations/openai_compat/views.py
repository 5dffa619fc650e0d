"""The OpenAI Images API over the one generation path.

Each call submits a generation, waits for it (up to OPENAI_WAIT_TIMEOUT_S) and answers in
OpenAI's shape: {"created", "data": [{"url"} | {"b64_json"}], "usage"}. The views are async:
under the ASGI server a waiting call holds no thread, only a Redis subscription (or a timer
re-reading the row), so one web process can keep hundreds of calls open.
"""

import base64
import json
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import HttpRequest, JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.request import Request

from accounts.authentication import ApiKeyAuthentication
from accounts.models import ApiKey, User
from generations.api.generations import IDEMPOTENCY_KEY_MAX_LENGTH
from generations.api.references import file_read, references_read
from generations.catalog import GenerationSpec, list_models
from generations.catalog.aliases import catalog_id_for
from generations.messaging.notifications import generation_wait_terminal_async
from generations.models import Generation, OutputImage
from generations.openai_compat.errors import OpenAIError, allow_methods, openai_error_response
from generations.openai_compat.inputs import ImagesGenerationsInput, ImagesInput
from generations.openai_compat.schema import openai_schema
from generations.runtime.db import db_release, off_loop
from generations.security.signed_links import absolute_url, output_url
from generations.services import generation_submit
from generations.services.access import caller_policies, catalog_for

# A generation's failure code -> (HTTP status, OpenAI type, OpenAI code). Provider trouble is
# upstream (502/504), a refusal is the request's (400); 500 is kept for our own faults.
FAILURES = {
    "content_refused": (400, "invalid_request_error", "content_policy_violation"),
    "bad_request": (400, "invalid_request_error", "invalid_request"),
    "provider_timeout": (504, "server_error", "provider_timeout"),
    "deadline_exceeded": (504, "server_error", "provider_timeout"),
    "internal_error": (500, "server_error", "internal_error"),
}
UPSTREAM_FAILURE = (502, "server_error", "provider_error")


def _caller(request: HttpRequest) -> tuple[User, ApiKey | None]:
    """Authenticate (API key or session) and apply the API's throttles, as DRF views do."""
    drf_request = Request(request, authenticators=[ApiKeyAuthentication()])
    user = drf_request.user
    if not user or not user.is_authenticated:
        raise exceptions.NotAuthenticated("Send your API key: 'Authorization: Bearer <key>'.")
    for throttle_path in settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_CLASSES", []):
        throttle = import_string(throttle_path)()
        if not throttle.allow_request(drf_request, None):
            raise exceptions.Throttled(wait=throttle.wait())
    return user, drf_request.auth if isinstance(drf_request.auth, ApiKey) else None


def _spec(data: dict[str, Any], *, references: int) -> GenerationSpec:
    model_id = catalog_id_for(data["model"])
    if model_id is None:
        known = ", ".join(model.id for model in list_models())
        raise OpenAIError(
            f"The model '{data['model']}' does not exist. Known models: {known}.",
            http_status=404,
            type_="invalid_request_error",
            code="model_not_found",
            param="model",
        )
    if data["sequential_image_generation"] == "disabled" and data["n"] > 1:
        raise OpenAIError(
            "n must be 1 when sequential_image_generation is 'disabled'.",
            http_status=400,
            type_="invalid_request_error",
            code="invalid_value",
            param="n",
        )
    return GenerationSpec(
        model=model_id,
        prompt=data["prompt"],
        size="" if data["size"] in ("", "auto") else data["size"],
        aspect_ratio=data["aspect_ratio"],
        num_images=data["n"],
        reference_count=references,
        seed=data["seed"],
        guidance_scale=data["guidance_scale"],
        output_format=data["output_format"],
    )


def _submit_generations(request: HttpRequest) -> tuple[Generation, str]:
    user, api_key = _caller(request)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError as error:
        raise exceptions.ParseError(f"The body is not valid JSON: {error}") from error
    serializer = ImagesGenerationsInput(data=body)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    references = references_read(user=user, items=data["image"] or [])
    return _submit(request, user, api_key, data, references), data["response_format"]


def _submit_edits(request: HttpRequest) -> tuple[Generation, str]:
    user, api_key = _caller(request)
    serializer = ImagesInput(data=request.POST)
    serializer.is_valid(raise_exception=True)
    if "mask" in request.FILES or "mask" in request.POST:
        # Ignoring it would edit the whole image and charge for an edit nobody asked for.
        raise OpenAIError(
            "Seedream models take no mask: describe the change in the prompt, and send the "
            "image(s) without 'mask'.",
            http_status=400,
            type_="invalid_request_error",
            code="unsupported_parameter",
            param="mask",
        )
    files = request.FILES.getlist("image") + request.FILES.getlist("image[]")
    if not files:
        raise OpenAIError(
            "Send at least one image file as 'image' (or 'image[]').",
            http_status=400,
            type_="invalid_request_error",
            code="missing_image",
            param="image",
        )
    references = [file_read(upload, field=f"image[{i}]") for i, upload in enumerate(files)]
    data = serializer.validated_data
    return _submit(request, user, api_key, data, references), data["response_format"]


def _idempotency_key(request: HttpRequest) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise OpenAIError(
            f"Idempotency-Key is at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters.",
            http_status=400,
            type_="invalid_request_error",
            code="invalid_value",
            param="Idempotency-Key",
        )
    return key


def _submit(
    request: HttpRequest,
    user: User,
    api_key: ApiKey | None,
    data: dict[str, Any],
    references: list[bytes],
) -> Generation:
    try:
        return generation_submit(
            user=user,
            spec=_spec(data, references=len(references)),
            references=references,
            api_key=api_key,
            idempotency_key=_idempotency_key(request),
        )
    finally:
        db_release()  # the call now waits; the connection goes back to the pool meanwhile


def _result(
    generation_id: str, *, finished: bool, response_format: str, request: HttpRequest
) -> dict[str, Any]:
    # The images with their generation in one query; a generation without any, alone.
    outputs = list(
        OutputImage.objects.filter(generation_id=generation_id)
        .select_related("generation")
        .order_by("index")
    )
    generation = outputs[0].generation if outputs else Generation.objects.get(id=generation_id)
    if not finished:
        raise OpenAIError(
            f"The images are not ready after {settings.OPENAI_WAIT_TIMEOUT_S:.0f} s; they will "
            f"be kept: GET /api/v1/generations/{generation.id} (it is still {generation.status}).",
            http_status=504,
            type_="server_error",
            code="timeout",
        )
    # A partial success answers with the images that were delivered (and paid for).
    if generation.status not in Generation.DELIVERED_STATUSES:
        http_status, type_, code = FAILURES.get(generation.error_code, UPSTREAM_FAILURE)
        raise OpenAIError(
            generation.error_message or "The generation did not finish.",
            http_status=http_status,
            type_=type_,
            code=code,
        )
    items = []
    for output in outputs:
        if response_format == "b64_json":
            with default_storage.open(str(output.file.name), "rb") as stored:
                items.append({"b64_json": base64.b64encode(stored.read()).decode()})
        else:
            items.append({"url": absolute_url(output_url(output), request=request)})
    return {
        "created": int((generation.finished_at or generation.created_at).timestamp()),
        "data": items,
        "usage": {
            "generated_images": len(items),
            "credits_charged": generation.credits_charged,
            "input_tokens": 0,
            "output_tokens": 0,
            "total_tokens": 0,
        },
    }


async def _generate_and_wait(request: HttpRequest, submit: Any) -> JsonResponse:
    try:
        generation, response_format = await off_loop(submit)(request)
        finished = await generation_wait_terminal_async(
            generation_id=str(generation.id), timeout_s=settings.OPENAI_WAIT_TIMEOUT_S
        )
        body = await off_loop(_result)(
            str(generation.id), finished=finished, response_format=response_format, request=request
        )
    except Exception as error:
        return openai_error_response(error)
    return JsonResponse(body)


@csrf_exempt
@allow_methods("POST")
async def images_generations(request: HttpRequest) -> JsonResponse:
    return await _generate_and_wait(request, _submit_generations)


@csrf_exempt
@allow_methods("POST")
async def images_edits(request: HttpRequest) -> JsonResponse:
    return await _generate_and_wait(request, _submit_edits)


def _models(request: HttpRequest) -> dict[str, Any]:
    user, api_key = _caller(request)
    return {
        "object": "list",
        "data": [
            {"id": model["id"], "object": "model", "created": 1735689600, "owned_by": "bytedance"}
            for model in catalog_for(caller_policies(user=user, api_key=api_key))
        ],
    }


@allow_methods("GET")
async def models(request: HttpRequest) -> JsonResponse:
    try:
        return JsonResponse(await off_loop(_models)(request))
    except Exception as error:
        return openai_error_response(error)


def schema(request: HttpRequest) -> JsonResponse:
    """The OpenAPI description of these endpoints (``schema.py``), public like the native one."""
    return JsonResponse(openai_schema())
