"""Generations: create, list, retrieve (with long-poll), cancel, delete.

The server-sent event stream of one generation is in ``generations.api.events``.
"""

from typing import Any
from uuid import UUID

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from accounts.services.teams import wallet_for_request
from generations.api.async_views import WaitingApiView
from generations.api.pagination import PAGE_PARAMETERS, NewestFirstCursorPagination, page_serializer
from generations.api.parsers import BoundedJSONParser, BoundedMultiPartParser
from generations.api.references import references_read
from generations.api.requests import AuthenticatedRequest, query_data
from generations.api.schema import error_responses
from generations.api.serializers import (
    DateOrDateTimeField,
    GenerationSerializer,
    MultipartReferencesField,
    ReferenceField,
    TextField,
)
from generations.catalog import MAX_REFERENCE_IMAGES, GenerationSpec, list_models
from generations.messaging.notifications import generation_wait_terminal_async
from generations.messaging.webhooks import EVENTS as WEBHOOK_EVENTS
from generations.messaging.webhooks import webhook_validate
from generations.models import Generation
from generations.runtime.db import off_loop
from generations.selectors.generations import (
    SCOPE_MINE,
    SCOPE_TEAM,
    GenerationFilters,
    generation_get_api,
    generation_list_api,
)
from generations.services import generation_cancel, generation_submit_or_replay
from generations.services.lifecycle import generation_change_check, generation_delete

# Long-poll: the longest wait a client may ask for.
WAIT_MAX_S = 60
IDEMPOTENCY_KEY_MAX_LENGTH = 255


def generation_or_404(*, request: AuthenticatedRequest, generation_id: UUID | str) -> Generation:
    """The generation if the caller may see it; another's private one reads as missing, so
    its existence is not revealed."""
    generation = generation_get_api(user=request.user, generation_id=str(generation_id))
    if generation is None:
        raise NotFound("No such generation.")
    return generation


class GenerationCreateApi(APIView):
    parser_classes = [BoundedJSONParser, BoundedMultiPartParser]

    class InputSerializer(serializers.Serializer):
        model = serializers.ChoiceField(
            choices=[model.id for model in list_models()],
            help_text="Catalog model id; see GET /api/v1/models.",
            error_messages={
                "invalid_choice": 'Unknown model "{input}"; known models: '
                + ", ".join(model.id for model in list_models())
                + "."
            },
        )
        prompt = TextField(trim_whitespace=False)
        size = TextField(
            required=False,
            allow_blank=True,
            default="",
            help_text='A tier ("2K") or WIDTHxHEIGHT ("2048x1536").',
        )
        aspect_ratio = TextField(
            required=False, allow_blank=True, default="", help_text='With a tier size, e.g. "16:9".'
        )
        num_images = serializers.IntegerField(required=False, default=1, min_value=1)
        seed = serializers.IntegerField(required=False, allow_null=True, default=None)
        guidance_scale = serializers.FloatField(required=False, allow_null=True, default=None)
        output_format = TextField(required=False, allow_blank=True, default="")
        visibility = serializers.ChoiceField(
            choices=Generation.Visibility.choices,
            required=False,
            default=Generation.Visibility.PRIVATE,
        )
        team = TextField(
            required=False,
            allow_blank=True,
            default="",
            help_text="Slug of one of your teams to charge instead of your own wallet (and, "
            "with visibility team, the team that sees it). A key bound to a team always "
            "charges that team.",
        )
        webhook_url = TextField(
            required=False,
            allow_blank=True,
            default="",
            help_text="HTTPS URL to receive a signed POST when the generation ends "
            "(Standard Webhooks headers; the secret is on /account/keys/).",
        )
        webhook_events = serializers.ListField(
            child=serializers.ChoiceField(choices=list(WEBHOOK_EVENTS)),
            required=False,
            allow_null=True,
            default=None,
            help_text="Which endings to send; default all of them.",
        )
        references = serializers.ListField(
            child=ReferenceField(),
            required=False,
            default=list,
            max_length=MAX_REFERENCE_IMAGES,
            help_text="Reference images in order: upload ids, https URLs or data URIs. With "
            "multipart, also (or instead) files in `references`.",
        )

        def to_internal_value(self, data: Any) -> Any:
            # A misspelt field ("num_image") silently ignored would cost credits for the wrong
            # request, so unknown fields are refused by name.
            if hasattr(data, "keys"):
                unknown = sorted(set(data.keys()) - set(self.fields))
                if unknown:
                    raise ValidationError(
                        {
                            name: ["Unknown field; see the schema at /api/schema/."]
                            for name in unknown
                        }
                    )
            return super().to_internal_value(data)

    class MultipartInputSerializer(InputSerializer):
        """The same request as a form: a form has no null, so an optional number is left out
        (or sent empty) for none, and reference images may be files."""

        seed = serializers.IntegerField(required=False, default=None)
        guidance_scale = serializers.FloatField(required=False, default=None)
        webhook_events = serializers.ListField(
            child=serializers.ChoiceField(choices=list(WEBHOOK_EVENTS)),
            required=False,
            default=None,
            help_text="Which endings to send; default all of them.",
        )
        references = MultipartReferencesField(
            required=False,
            default=list,
            max_length=MAX_REFERENCE_IMAGES,
            help_text="Reference images in order: image files, or upload ids or https URLs as "
            "text parts.",
        )

    @extend_schema(
        operation_id="generations_create",
        summary="Create a generation",
        description="Validates against the catalog, holds the credits for the maximum number "
        "of images, and queues the generation. Send `Idempotency-Key` to make retries safe: "
        "the same key and body answer the same generation (200) without a second hold; the "
        "same key with another body is 409.",
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Any unique string, at most 255 characters.",
            )
        ],
        request={
            "application/json": InputSerializer,
            "multipart/form-data": MultipartInputSerializer,
        },
        responses={
            201: OpenApiResponse(GenerationSerializer, description="Created and queued."),
            200: OpenApiResponse(
                GenerationSerializer, description="Repeated Idempotency-Key: the first one."
            ),
            **error_responses(400, 402, 403, 404, 409, 413, 429),
        },
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        is_multipart = request.content_type.startswith("multipart/")
        # Multipart: text fields from the form, reference files from `references`.
        serializer = (
            self.MultipartInputSerializer(data=request.POST)
            if is_multipart
            else self.InputSerializer(data=request.data)
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        idempotency_key = request.headers.get("Idempotency-Key", "").strip()
        if len(idempotency_key) > IDEMPOTENCY_KEY_MAX_LENGTH:
            raise ValidationError(
                {"Idempotency-Key": [f"At most {IDEMPOTENCY_KEY_MAX_LENGTH} characters."]}
            )
        # Vetted before the references are read (they may be fetched from URLs); the service
        # checks both again with the rest of the request.
        webhook_validate(url=data["webhook_url"], events=data["webhook_events"])
        references = references_read(
            user=request.user,
            items=data["references"],
            files=request.FILES.getlist("references") if is_multipart else (),
        )
        spec = GenerationSpec(
            model=data["model"],
            prompt=data["prompt"],
            size=data["size"],
            aspect_ratio=data["aspect_ratio"],
            num_images=data["num_images"],
            seed=data["seed"],
            guidance_scale=data["guidance_scale"],
            output_format=data["output_format"],
        )
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        generation, replayed = generation_submit_or_replay(
            user=request.user,
            spec=spec,
            references=references,
            api_key=api_key,
            wallet=wallet_for_request(user=request.user, team_slug=data["team"], api_key=api_key),
            idempotency_key=idempotency_key,
            visibility=data["visibility"],
            webhook_url=data["webhook_url"],
            webhook_events=data["webhook_events"],
        )
        response = Response(
            GenerationSerializer(generation, context={"request": request}).data,
            status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED,
        )
        if idempotency_key:
            response["Idempotent-Replayed"] = "true" if replayed else "false"
        return response

    def max_body_bytes(self) -> int:
        # Every reference at the cap, base64-encoded (4/3), plus room for the other fields.
        return MAX_REFERENCE_IMAGES * settings.REFERENCE_MAX_BYTES * 4 // 3 + 1024 * 1024


class GenerationListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        scope = serializers.ChoiceField(
            choices=[SCOPE_MINE, SCOPE_TEAM],
            required=False,
            default=SCOPE_MINE,
            help_text="mine: your own; team: the shared generations you may see (shared with "
            "everyone here or with one of your teams), yours included.",
        )
        status = serializers.ChoiceField(choices=Generation.Status.choices, required=False)
        model = serializers.ChoiceField(
            choices=[model.id for model in list_models()], required=False
        )
        created_after = DateOrDateTimeField(
            required=False, help_text="Created at or after this date or date-time."
        )
        created_before = DateOrDateTimeField(
            required=False, help_text="Created before this date or date-time."
        )
        q = serializers.CharField(
            required=False,
            max_length=200,
            help_text="Words the prompt contains, each anywhere and in any case (as the gallery's "
            "search).",
        )

    @extend_schema(
        operation_id="generations_list",
        summary="List generations",
        description="Newest first, paginated by cursor (follow `next`). Deleted generations "
        "are left out.",
        parameters=[
            FilterSerializer,
            *PAGE_PARAMETERS,
        ],
        responses={
            200: page_serializer("GenerationPage", GenerationSerializer(many=True)),
            **error_responses(400),
        },
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        serializer = self.FilterSerializer(data=query_data(request))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        queryset = generation_list_api(
            user=request.user,
            filters=GenerationFilters(
                scope=data["scope"],
                status=data.get("status", ""),
                model=data.get("model", ""),
                created_after=data.get("created_after"),
                created_before=data.get("created_before"),
                text=data.get("q", ""),
            ),
        )
        paginator = NewestFirstCursorPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(
            GenerationSerializer(page, many=True, context={"request": request}).data
        )


class GenerationRetrieveApi(WaitingApiView):
    class FilterSerializer(serializers.Serializer):
        wait = serializers.IntegerField(
            required=False,
            default=0,
            min_value=0,
            max_value=WAIT_MAX_S,
            help_text="Seconds to wait for a terminal state before answering (long-poll).",
        )

    @extend_schema(
        operation_id="generations_retrieve",
        summary="Get a generation",
        description="With `wait=N` (at most 60), answers as soon as the generation is "
        "terminal or after N seconds, whichever comes first.",
        parameters=[FilterSerializer],
        responses={200: GenerationSerializer, **error_responses(400, 404)},
    )
    async def get(self, request: AuthenticatedRequest, generation_id: UUID) -> Response:
        generation, wait_s = await off_loop(self._checked)(request, generation_id)
        if wait_s and not generation.is_terminal:
            # No thread and no connection held meanwhile (generations.messaging.notifications).
            await generation_wait_terminal_async(generation_id=str(generation.id), timeout_s=wait_s)
            generation = await off_loop(generation_or_404)(
                request=request, generation_id=generation.id
            )
        return await off_loop(_generation_response)(generation, request=request)

    def _checked(
        self, request: AuthenticatedRequest, generation_id: UUID
    ) -> tuple[Generation, int]:
        serializer = self.FilterSerializer(data=query_data(request))
        serializer.is_valid(raise_exception=True)
        generation = generation_or_404(request=request, generation_id=generation_id)
        return generation, serializer.validated_data["wait"]


def _generation_response(generation: Generation, *, request: AuthenticatedRequest) -> Response:
    return Response(GenerationSerializer(generation, context={"request": request}).data)


class GenerationCancelApi(APIView):
    @extend_schema(
        operation_id="generations_cancel",
        summary="Cancel a generation",
        description="Stops a queued or running generation and returns its whole hold. Only "
        "its owner (or staff) may cancel it.",
        request=None,
        responses={200: GenerationSerializer, **error_responses(403, 404, 409)},
    )
    def post(self, request: AuthenticatedRequest, generation_id: UUID) -> Response:
        generation = generation_or_404(request=request, generation_id=generation_id)
        generation_change_check(generation=generation, user=request.user)
        generation_cancel(generation=generation, user=request.user)
        return Response(
            GenerationSerializer(
                generation_or_404(request=request, generation_id=generation_id),
                context={"request": request},
            ).data
        )


class GenerationDeleteApi(APIView):
    @extend_schema(
        operation_id="generations_delete",
        summary="Delete a generation",
        description="Hides a finished generation (its files are removed later). Credits are "
        "untouched. Only its owner (or staff) may delete it; cancel a running one first.",
        responses={204: None, **error_responses(403, 404, 409)},
    )
    def delete(self, request: AuthenticatedRequest, generation_id: UUID) -> Response:
        generation = generation_or_404(request=request, generation_id=generation_id)
        generation_delete(generation=generation, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
