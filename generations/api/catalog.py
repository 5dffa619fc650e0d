"""``GET /api/v1/models``: the catalog with each model's capabilities and current price."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from accounts.services.pricing import PriceMissing, price_per_image
from accounts.services.teams import wallet_for_request
from generations.api.requests import AuthenticatedRequest
from generations.api.schema import error_responses
from generations.services.access import caller_policies, catalog_for


class ModelListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField()
        # DRF's Field has a `label` attribute too; the metaclass takes this one as a field.
        label = serializers.CharField()  # type: ignore[assignment]
        description = serializers.CharField()
        text_to_image = serializers.BooleanField()
        image_to_image = serializers.BooleanField()
        size_tiers = serializers.ListField(child=serializers.CharField())
        default_size = serializers.CharField()
        aspect_ratios = serializers.ListField(child=serializers.CharField())
        default_aspect_ratio = serializers.CharField(allow_blank=True)
        tier_dimensions = serializers.DictField(
            child=serializers.DictField(child=serializers.CharField()),
            help_text="Per size tier and aspect ratio, the WIDTHxHEIGHT it produces.",
        )
        accepts_explicit_size = serializers.BooleanField()
        min_pixels = serializers.IntegerField(allow_null=True)
        max_pixels = serializers.IntegerField(allow_null=True)
        min_side = serializers.IntegerField(allow_null=True)
        max_side = serializers.IntegerField(allow_null=True)
        min_aspect = serializers.FloatField()
        max_aspect = serializers.FloatField()
        min_references = serializers.IntegerField()
        max_references = serializers.IntegerField()
        max_outputs = serializers.IntegerField()
        max_total_images = serializers.IntegerField(
            help_text="References plus generated images per request."
        )
        supports_seed = serializers.BooleanField()
        supports_guidance = serializers.BooleanField()
        guidance_range = serializers.ListField(child=serializers.FloatField(), allow_null=True)
        output_formats = serializers.ListField(child=serializers.CharField())
        max_prompt_length = serializers.IntegerField()
        price_per_image = serializers.IntegerField(
            allow_null=True,
            help_text="Credits per delivered image now; null when staff have set no price "
            "(the model cannot be used until they do).",
        )

    @extend_schema(
        operation_id="models_list",
        summary="List models",
        description="Every catalog model the caller may use, with what it accepts and its "
        "current price: a team's or an API key's policy leaves out the models it does not allow "
        "and narrows the size tiers and image counts.",
        parameters=[
            OpenApiParameter(
                "team",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="Slug of one of your teams: the catalog as charging it allows.",
            )
        ],
        responses={200: OutputSerializer(many=True), **error_responses(400)},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        wallet = wallet_for_request(
            user=request.user, team_slug=request.query_params.get("team"), api_key=api_key
        )
        models = []
        for model in catalog_for(
            caller_policies(user=request.user, api_key=api_key, wallet=wallet)
        ):
            try:
                price: int | None = price_per_image(model_id=model["id"], size_tier="")
            except PriceMissing:
                price = None
            models.append({**model, "price_per_image": price})
        return Response(self.OutputSerializer(models, many=True).data)
