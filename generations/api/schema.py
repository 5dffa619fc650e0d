"""OpenAPI generation (drf-spectacular): component naming, the API-key scheme, shared responses."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

NATIVE_API_PREFIX = "/api/v1/"


class AutoSchema(SpectacularAutoSchema):
    def get_serializer_name(self, serializer: serializers.BaseSerializer, direction: str) -> str:
        """Name components after the view that nests them.

        Every view nests serializers called ``InputSerializer``/``OutputSerializer`` (the house
        style); by class name alone they would collide. ``GenerationCreateApi.InputSerializer``
        becomes ``GenerationCreateInput``, ``UsageApi.OutputSerializer.RowSerializer``
        ``UsageOutputRow``.
        """
        parts = type(serializer).__qualname__.split(".")
        if len(parts) == 1:
            return parts[0]
        name = "".join(part.removesuffix("Api").removesuffix("Serializer") for part in parts)
        # Request components get a "Request" suffix (COMPONENT_SPLIT_REQUEST), so
        # ``GenerationCreateApi.InputSerializer`` becomes ``GenerationCreateRequest``.
        return name.removesuffix("Input") if direction == "request" else name


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes ``accounts.authentication.ApiKeyAuthentication`` as an HTTP bearer scheme."""

    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKeyBearer"

    def get_security_definition(self, auto_schema: SpectacularAutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sds_<prefix>_<secret>",
            "description": "An API key created on /account/keys/ or with POST /api/v1/keys.",
        }


def native_api_only(endpoints: list[tuple], **kwargs: Any) -> list[tuple]:
    """Preprocessing hook: keep /api/v1/ only (the OpenAI-compatible API has its own envelope)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(NATIVE_API_PREFIX)]


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the native API (``generations.api.errors``)."""

    class BodySerializer(serializers.Serializer):
        code = serializers.CharField(help_text="Stable machine-readable code, e.g. not_found.")
        message = serializers.CharField(help_text="What went wrong and what to do, in words.")
        details = serializers.DictField(
            help_text="Per-field messages for validation errors; other facts otherwise."
        )

    error = BodySerializer()


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error responses for ``extend_schema(responses=...)``; 401 is on every operation."""
    descriptions = {
        400: "Invalid request; `details` names the fields.",
        401: "Missing, invalid, revoked or expired credentials.",
        402: "Not enough credits.",
        403: "Not allowed for this caller.",
        404: "Not found (or not visible to the caller).",
        409: "Conflicts with the resource's state or an earlier request.",
        413: "The request body is larger than this endpoint accepts.",
        429: "Too many requests, or too many of something (the message has the numbers).",
    }
    return {
        status: OpenApiResponse(ErrorSerializer, description=descriptions[status])
        for status in sorted({401, *statuses})
    }


# Which later operations take an id from a response: OpenAPI links, so clients (and a stateful
# test run) can follow a created generation or upload to the operations on it.
LINKS = {
    ("/api/v1/generations", "post", ("200", "201")): {
        "generation_id": "$response.body#/id",
        "operations": [
            "generations_retrieve",
            "generations_events",
            "generations_cancel",
            "generations_delete",
        ],
    },
    ("/api/v1/uploads", "post", ("201",)): {
        "upload_id": "$response.body#/id",
        "operations": ["uploads_delete"],
    },
    ("/api/v1/keys", "post", ("201",)): {
        "key_id": "$response.body#/id",
        "operations": ["keys_revoke"],
    },
}


# Request bodies whose serializer refuses fields it does not know (a misspelt field must not
# cost credits for the wrong request).
CLOSED_REQUESTS = ("GenerationCreateRequest", "GenerationCreateMultipartRequest")


def add_links(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: the ``links`` of ``LINKS`` on their responses, and
    ``additionalProperties: false`` on the request bodies of ``CLOSED_REQUESTS``."""
    for name in CLOSED_REQUESTS:
        result["components"]["schemas"][name]["additionalProperties"] = False
    for (path, method, statuses), link in LINKS.items():
        operation = result["paths"].get(path, {}).get(method)
        if operation is None:
            continue
        parameter = next(name for name in link if name != "operations")
        for status_code in statuses:
            response = operation["responses"].get(status_code)
            if response is None:
                continue
            response["links"] = {
                operation_id: {
                    "operationId": operation_id,
                    "parameters": {parameter: link[parameter]},
                }
                for operation_id in link["operations"]
            }
    return result
