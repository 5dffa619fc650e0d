"""Comparison runs: create (one prompt on several models, one generation each) and retrieve.

A comparison's generations are shown as ``GenerationSerializer`` shows any generation, so a
client reads each column as it reads ``GET /generations/<id>``.
"""

from typing import Any
from uuid import UUID

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from accounts.services.teams import wallet_for_request
from generations.api.generations import IDEMPOTENCY_KEY_MAX_LENGTH
from generations.api.parsers import BoundedJSONParser
from generations.api.references import references_read
from generations.api.requests import AuthenticatedRequest
from generations.api.schema import error_responses
from generations.api.serializers import GenerationSerializer, ReferenceField, TextField
from generations.catalog import MAX_REFERENCE_IMAGES, list_models
from generations.models import Comparison
from generations.selectors.comparisons import comparison_get_visible
from generations.services.comparisons import comparison_run


class RefusalSerializer(serializers.Serializer):
    """A model asked for but not started, and why (a budget or the balance ran out part-way)."""

    model = serializers.CharField()
    code = serializers.CharField(help_text="The error code the model's generation got.")
    message = serializers.CharField()


class ComparisonSerializer(serializers.Serializer):
    """A comparison with the generations the caller may see, in the order of ``models``; needs
    ``{"request": request}`` as its context, like ``GenerationSerializer``."""

    id = serializers.UUIDField()
    prompt = serializers.CharField()
    models = serializers.ListField(
        child=serializers.CharField(), source="models_requested", help_text="In column order."
    )
    visibility = serializers.ChoiceField(choices=Comparison.Visibility.choices)
    owner = serializers.CharField(source="owner.username")
    shared_team = serializers.SerializerMethodField(
        help_text="With visibility team: the slug of the team that sees it; null: everyone here."
    )
    refusals = RefusalSerializer(
        many=True, help_text="Models not started, each with the reason; the others run."
    )
    generations = serializers.SerializerMethodField(
        help_text="One per started model, in column order; only those the caller may see."
    )
    created_at = serializers.DateTimeField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_shared_team(self, comparison: Comparison) -> str | None:
        team = comparison.team if comparison.team_id is not None else None
        return team.slug if team is not None else None

    @extend_schema_field(GenerationSerializer(many=True))
    def get_generations(self, comparison: Comparison) -> Any:
        generations = [entry.generation for entry in comparison.entries.all()]
        return GenerationSerializer(generations, many=True, context=self.context).data


def _comparison_response(
    *, request: AuthenticatedRequest, comparison_id: UUID | str, status_code: int
) -> Response:
    comparison = comparison_get_visible(user=request.user, comparison_id=str(comparison_id))
    if comparison is None:
        # Another's private comparison reads as missing, so its existence is not revealed.
        raise NotFound("No such comparison.")
    return Response(
        ComparisonSerializer(comparison, context={"request": request}).data, status=status_code
    )


class ComparisonCreateApi(APIView):
    parser_classes = [BoundedJSONParser]

    class InputSerializer(serializers.Serializer):
        # A choice per item, so the schema says which ids exist (the same enum as a
        # generation's ``model``: ENUM_NAME_OVERRIDES names it once).
        models = serializers.ListField(
            child=serializers.ChoiceField(choices=[model.id for model in list_models()]),
            min_length=2,
            help_text="Catalog model ids, each once, in the order to show them; see "
            "GET /api/v1/models.",
        )
        prompt = TextField(trim_whitespace=False)
        size = TextField(
            required=False,
            allow_blank=True,
            default="",
            help_text='A tier ("2K") or WIDTHxHEIGHT every model accepts; empty: each model\'s '
            "default.",
        )
        aspect_ratio = TextField(
            required=False, allow_blank=True, default="", help_text='With a tier size, e.g. "16:9".'
        )
        num_images = serializers.IntegerField(
            required=False, default=1, min_value=1, help_text="Images per model."
        )
        visibility = serializers.ChoiceField(
            choices=Comparison.Visibility.choices,
            required=False,
            default=Comparison.Visibility.PRIVATE,
            help_text="Of the comparison and of each of its generations.",
        )
        team = TextField(
            required=False,
            allow_blank=True,
            default="",
            help_text="Slug of one of your teams to charge instead of your own wallet (and, "
            "with visibility team, the team that sees it).",
        )
        references = serializers.ListField(
            child=ReferenceField(),
            required=False,
            default=list,
            max_length=MAX_REFERENCE_IMAGES,
            help_text="Reference images for every model, in order: upload ids, https URLs or "
            "data URIs.",
        )

        def to_internal_value(self, data: Any) -> Any:
            # As for a generation: a misspelt field silently ignored would cost credits.
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

    @extend_schema(
        operation_id="comparisons_create",
        summary="Run a comparison",
        description="Runs one prompt on several models: one generation per model, each "
        "validated, held and charged as if asked for alone. Every model's request is checked "
        "before anything is held (a refusal names its model). A hold refused part-way (credits, "
        "a budget, a running limit) leaves the models already started running and lists the "
        "others in `refusals`; when none could start the answer is that refusal. Send "
        "`Idempotency-Key` to make retries safe.",
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Any unique string, at most 255 characters.",
            )
        ],
        request=InputSerializer,
        responses={
            201: OpenApiResponse(ComparisonSerializer, description="Created; generations queued."),
            200: OpenApiResponse(
                ComparisonSerializer, description="Repeated Idempotency-Key: the first one."
            ),
            **error_responses(400, 402, 403, 404, 409, 413, 429),
        },
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        idempotency_key = request.headers.get("Idempotency-Key", "").strip()
        if len(idempotency_key) > IDEMPOTENCY_KEY_MAX_LENGTH:
            raise ValidationError(
                {"Idempotency-Key": [f"At most {IDEMPOTENCY_KEY_MAX_LENGTH} characters."]}
            )
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        references = references_read(user=request.user, items=data["references"])
        run = comparison_run(
            user=request.user,
            prompt=data["prompt"],
            models=data["models"],
            references=references,
            wallet=wallet_for_request(user=request.user, team_slug=data["team"], api_key=api_key),
            api_key=api_key,
            size=data["size"],
            aspect_ratio=data["aspect_ratio"],
            num_images=data["num_images"],
            visibility=data["visibility"],
            idempotency_key=idempotency_key,
        )
        response = _comparison_response(
            request=request,
            comparison_id=run.comparison.pk,
            status_code=status.HTTP_200_OK if run.replayed else status.HTTP_201_CREATED,
        )
        if idempotency_key:
            response["Idempotent-Replayed"] = "true" if run.replayed else "false"
        return response

    def max_body_bytes(self) -> int:
        # Every reference at the cap, base64-encoded (4/3), plus room for the other fields.
        return MAX_REFERENCE_IMAGES * settings.REFERENCE_MAX_BYTES * 4 // 3 + 1024 * 1024


class ComparisonRetrieveApi(APIView):
    @extend_schema(
        operation_id="comparisons_retrieve",
        summary="Get a comparison",
        description="The comparison and its generations, as `GET /generations/<id>` shows "
        "each. Someone else's comparison is 404 unless it is shared with you.",
        responses={200: ComparisonSerializer, **error_responses(404)},
    )
    def get(self, request: AuthenticatedRequest, comparison_id: UUID) -> Response:
        return _comparison_response(
            request=request, comparison_id=comparison_id, status_code=status.HTTP_200_OK
        )
