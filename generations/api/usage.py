"""``GET /api/v1/me/usage``: what the caller spent, per day and model."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from generations.api.requests import AuthenticatedRequest, query_data
from generations.api.schema import error_responses
from generations.selectors.usage import usage_by_day_and_model

USAGE_MAX_DAYS = 366


class UsageApi(APIView):
    class FilterSerializer(serializers.Serializer):
        days = serializers.IntegerField(
            required=False,
            default=30,
            min_value=1,
            max_value=USAGE_MAX_DAYS,
            help_text="Days back, today included.",
        )

    class OutputSerializer(serializers.Serializer):
        class RowSerializer(serializers.Serializer):
            date = serializers.DateField(source="day")
            model = serializers.CharField()
            generations = serializers.IntegerField()
            images = serializers.IntegerField(help_text="Images delivered (and so charged).")
            credits_charged = serializers.IntegerField()

        days = serializers.IntegerField()
        rows = RowSerializer(many=True)
        totals = serializers.DictField(child=serializers.IntegerField())

    @extend_schema(
        operation_id="me_usage",
        summary="My usage per day and model",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, **error_responses(400)},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        serializer = self.FilterSerializer(data=query_data(request))
        serializer.is_valid(raise_exception=True)
        days = serializer.validated_data["days"]
        rows = usage_by_day_and_model(user=request.user, days=days)
        totals = {
            "generations": sum(row.generations for row in rows),
            "images": sum(row.images for row in rows),
            "credits_charged": sum(row.credits_charged for row in rows),
        }
        return Response(self.OutputSerializer({"days": days, "rows": rows, "totals": totals}).data)
