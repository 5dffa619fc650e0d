"""The OpenAI Images API over the one generation path.

Each call submits a generation, waits for it (up to OPENAI_WAIT_TIMEOUT_S) and answers in
OpenAI's shape: {"created", "data": [{"url"} | {"b64_json"}], "usage"}.
"""

import base64
import time
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey

from ..api.references import file_read, references_read
from ..catalog import GenerationSpec, list_models
from ..media_links import absolute_url, output_url
from ..models import Generation
from ..services import generation_submit
from ..waiting import generation_wait_terminal
from .aliases import catalog_id_for
from .errors import OpenAIError, openai_exception_handler

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


class OpenAIView(APIView):
    def get_exception_handler(self):
        return openai_exception_handler


class ImagesInput(serializers.Serializer):
    model = serializers.CharField(required=False, default="seedream-4.0")
    prompt = serializers.CharField(max_length=4000)
    n = serializers.IntegerField(required=False, default=1, min_value=1, max_value=15)
    size = serializers.CharField(required=False, default="auto")
    response_format = serializers.ChoiceField(
        choices=["url", "b64_json"], required=False, default="url"
    )
    user = serializers.CharField(required=False, allow_blank=True, default="")
    # Seedream extensions (the Ark dialect).
    seed = serializers.IntegerField(required=False, allow_null=True, default=None)
    guidance_scale = serializers.FloatField(required=False, allow_null=True, default=None)
    aspect_ratio = serializers.CharField(required=False, default="")
    output_format = serializers.CharField(required=False, default="")
    watermark = serializers.BooleanField(required=False, default=False)
    sequential_image_generation = serializers.ChoiceField(
        choices=["auto", "disabled"], required=False, default="auto"
    )


class ImagesGenerationsInput(ImagesInput):
    image = serializers.JSONField(required=False, default=None)


def _spec(data: dict[str, Any], *, references: int) -> GenerationSpec:
    model_id = catalog_id_for(data["model"])
    if model_id is None:
        known = ", ".join(model.id for model in list_models())
        raise OpenAIError(
            f"The model '{data['model']}' does not exist. Known models: {known}.",
            http_status=status.HTTP_404_NOT_FOUND,
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
    size = "" if data["size"] in ("", "auto") else data["size"]
    return GenerationSpec(
        model=model_id,
        prompt=data["prompt"],
        size=size,
        aspect_ratio=data["aspect_ratio"],
        num_images=data["n"],
        reference_count=references,
        seed=data["seed"],
        guidance_scale=data["guidance_scale"],
        output_format=data["output_format"],
    )


def _generate(request: Request, data: dict[str, Any], references: list[bytes]) -> Response:
    generation = generation_submit(
        user=request.user,
        spec=_spec(data, references=len(references)),
        references=references,
        api_key=request.auth if isinstance(request.auth, ApiKey) else None,
        idempotency_key=request.headers.get("Idempotency-Key", "").strip(),
    )
    finished = generation_wait_terminal(
        generation_id=str(generation.id), timeout_s=settings.OPENAI_WAIT_TIMEOUT_S
    )
    generation.refresh_from_db()
    if not finished:
        raise OpenAIError(
            f"The images are not ready after {settings.OPENAI_WAIT_TIMEOUT_S:.0f} s; they will "
            f"be kept: GET /api/v1/generations/{generation.id} (it is still {generation.status}).",
            http_status=status.HTTP_504_GATEWAY_TIMEOUT,
            type_="server_error",
            code="timeout",
        )
    if generation.status != Generation.Status.SUCCEEDED:
        http_status, type_, code = FAILURES.get(generation.error_code, UPSTREAM_FAILURE)
        raise OpenAIError(
            generation.error_message or "The generation did not finish.",
            http_status=http_status,
            type_=type_,
            code=code,
        )
    return Response(_images_response(generation, response_format=data["response_format"]))


def _images_response(generation: Generation, *, response_format: str) -> dict[str, Any]:
    items = []
    for output in generation.outputs.order_by("index"):
        if response_format == "b64_json":
            with default_storage.open(output.file.name, "rb") as stored:
                items.append({"b64_json": base64.b64encode(stored.read()).decode()})
        else:
            items.append({"url": absolute_url(output_url(output))})
    delivered = len(items)
    return {
        "created": int((generation.finished_at or generation.created_at).timestamp()),
        "data": items,
        "usage": {
            "generated_images": delivered,
            "credits_charged": generation.credits_charged,
            "input_tokens": 0,
            "output_tokens": 0,
            "total_tokens": 0,
        },
    }


class ImagesGenerationsApi(OpenAIView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="openai_images_generations",
        request=ImagesGenerationsInput,
        responses={200: dict},
        tags=["openai"],
    )
    def post(self, request: Request) -> Response:
        serializer = ImagesGenerationsInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        image = data["image"]
        items = [image] if isinstance(image, str) else list(image or [])
        return _generate(request, data, references_read(user=request.user, items=items))


class ImagesEditsApi(OpenAIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="openai_images_edits",
        request=ImagesInput,
        responses={200: dict},
        tags=["openai"],
    )
    def post(self, request: Request) -> Response:
        serializer = ImagesInput(data=request.data)
        serializer.is_valid(raise_exception=True)
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
        return _generate(request, serializer.validated_data, references)


class ModelsApi(OpenAIView):
    @extend_schema(operation_id="openai_models", responses={200: dict}, tags=["openai"])
    def get(self, request: Request) -> Response:
        created = int(time.mktime((2025, 1, 1, 0, 0, 0, 0, 0, 0)))
        return Response(
            {
                "object": "list",
                "data": [
                    {"id": model.id, "object": "model", "created": created, "owned_by": "bytedance"}
                    for model in list_models()
                ],
            }
        )
