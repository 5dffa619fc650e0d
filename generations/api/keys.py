"""``/api/v1/keys``: the caller's own API keys: list, create (the secret shown once, optionally
bound to one of the caller's teams and with a policy of its own), revoke."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.fields import empty
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from accounts.selectors import api_key_get_owned, api_key_list
from accounts.services.keys import (
    ApiKeySettingsInvalid,
    ApiKeyTeamRefused,
    KeyPolicy,
    api_key_create,
    api_key_revoke,
    api_key_team_for,
)
from accounts.services.pricing import SIZE_TIERS
from generations.api.parsers import BoundedJSONParser
from generations.api.requests import AuthenticatedRequest
from generations.api.schema import error_responses
from generations.api.serializers import TextField
from studio_core.client_ip import client_ip


class BlankIsNullDateTimeField(serializers.DateTimeField):
    """A date-time where an empty string means none, as a cleared form field sends it."""

    def run_validation(self, data: Any = empty) -> Any:
        return super().run_validation(None if data == "" else data)


class ApiKeySerializer(serializers.Serializer):
    """A key as its owner may see it: never the secret nor its hash."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The public part: keys read sds_<prefix>_<secret>.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(
        allow_null=True,
        help_text="To the minute; uses are written about once a minute, so a call made just now "
        "may take a minute or two to show.",
    )
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    active = serializers.SerializerMethodField()
    team = serializers.CharField(
        source="team.slug",
        allow_null=True,
        default=None,
        help_text="Slug of the team every generation made with the key is charged to; null: "
        "the owner's own credits.",
    )
    allowed_models = serializers.ListField(
        child=serializers.CharField(), help_text="Models the key may use; empty: every model."
    )
    max_size_tier = serializers.CharField(
        help_text="The largest size tier the key may ask for; empty: every size."
    )
    max_images_per_request = serializers.IntegerField(allow_null=True)
    max_running = serializers.IntegerField(
        allow_null=True, help_text="Generations made with the key that may run at once."
    )

    def get_active(self, api_key: ApiKey) -> bool:
        return api_key.is_active()


class KeyListApi(APIView):
    @extend_schema(
        operation_id="keys_list",
        summary="List my API keys",
        responses={200: ApiKeySerializer(many=True), **error_responses()},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(ApiKeySerializer(api_key_list(user=request.user), many=True).data)


class KeyCreateApi(APIView):
    parser_classes = [BoundedJSONParser]

    class InputSerializer(serializers.Serializer):
        name = TextField(max_length=100, help_text="What uses the key, e.g. the script or machine.")
        expires_at = BlankIsNullDateTimeField(
            required=False,
            allow_null=True,
            default=None,
            help_text="Absent, null or empty: never expires.",
        )
        team = TextField(
            required=False,
            allow_blank=True,
            default="",
            help_text="Slug of one of your teams: every generation made with the key is charged "
            "to it. Absent or empty: your own credits.",
        )
        allowed_models = serializers.ListField(
            child=TextField(max_length=100),
            required=False,
            default=list,
            max_length=50,
            help_text="Catalog model ids the key may use; absent or empty: every model.",
        )
        max_size_tier = serializers.ChoiceField(
            choices=["", *SIZE_TIERS],
            required=False,
            default="",
            help_text="The largest size tier the key may ask for; absent or empty: every size.",
        )
        max_images_per_request = serializers.IntegerField(
            required=False, allow_null=True, default=None, min_value=1, max_value=15
        )
        max_running = serializers.IntegerField(
            required=False,
            allow_null=True,
            default=None,
            min_value=1,
            max_value=10_000,
            help_text="Generations made with the key that may be queued or running at once.",
        )

    class OutputSerializer(ApiKeySerializer):
        key = serializers.SerializerMethodField(
            help_text="The whole key. Shown this once; store it now."
        )

        def get_key(self, api_key: ApiKey) -> str:
            # Never stored, so it cannot come from the row: the view passes it in once.
            return self.context["secret"]

    @extend_schema(
        operation_id="keys_create",
        summary="Create an API key",
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400)},
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            issued = api_key_create(
                user=request.user,
                name=data["name"],
                expires_at=data["expires_at"],
                team=api_key_team_for(user=request.user, slug=data["team"]),
                policy=KeyPolicy(
                    allowed_models=tuple(data["allowed_models"]),
                    max_size_tier=data["max_size_tier"],
                    max_images_per_request=data["max_images_per_request"],
                    max_running=data["max_running"],
                ),
                ip_address=client_ip(request),
            )
        except (ApiKeyTeamRefused, ApiKeySettingsInvalid) as error:
            raise ValidationError({error.field or "non_field_errors": [error.message]}) from error
        except ValueError as error:
            # The service's messages are about the name or the expiry date.
            field = "expires_at" if "expir" in str(error) else "name"
            raise ValidationError({field: [str(error)]}) from error
        output = self.OutputSerializer(issued.api_key, context={"secret": issued.key})
        return Response(output.data, status=status.HTTP_201_CREATED)


class KeyRevokeApi(APIView):
    @extend_schema(
        operation_id="keys_revoke",
        summary="Revoke an API key",
        description="Takes effect on the next request made with the key.",
        responses={204: None, **error_responses(404)},
    )
    def delete(self, request: AuthenticatedRequest, key_id: int) -> Response:
        api_key = api_key_get_owned(user=request.user, api_key_id=key_id)
        if api_key is None:
            raise NotFound("No such API key.")
        api_key_revoke(api_key=api_key, actor=request.user, ip_address=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
