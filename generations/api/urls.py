"""Routes of the native API, included under /api/v1/ by ``seedream_site.api_urls``.

Each operation is its own view class; where REST puts two operations on one path (GET and POST
/generations), a route class inherits both, each bringing only its own method.
"""

from django.urls import path

# Registers the API-key scheme with drf-spectacular before any schema is built.
from generations.api import schema  # noqa: F401
from generations.api.catalog import ModelListApi
from generations.api.comparisons import ComparisonCreateApi, ComparisonRetrieveApi
from generations.api.events import GenerationEventsApi
from generations.api.generations import (
    GenerationCancelApi,
    GenerationCreateApi,
    GenerationDeleteApi,
    GenerationListApi,
    GenerationRetrieveApi,
)
from generations.api.keys import KeyCreateApi, KeyListApi, KeyRevokeApi
from generations.api.uploads import UploadDeleteApi, UploadListCreateApi
from generations.api.usage import UsageApi


class GenerationCollectionRoute(GenerationListApi, GenerationCreateApi):
    """GET lists, POST creates."""


class GenerationItemRoute(GenerationRetrieveApi, GenerationDeleteApi):
    """GET retrieves, DELETE deletes."""


class KeyCollectionRoute(KeyListApi, KeyCreateApi):
    """GET lists, POST creates."""


urlpatterns = [
    path("generations", GenerationCollectionRoute.as_view(), name="api-generations"),
    path(
        "generations/<uuid:generation_id>",
        GenerationItemRoute.as_view(),
        name="api-generation",
    ),
    path(
        "generations/<uuid:generation_id>/cancel",
        GenerationCancelApi.as_view(),
        name="api-generation-cancel",
    ),
    path(
        "generations/<uuid:generation_id>/events",
        GenerationEventsApi.as_view(),
        name="api-generation-events",
    ),
    path("comparisons", ComparisonCreateApi.as_view(), name="api-comparisons"),
    path(
        "comparisons/<uuid:comparison_id>",
        ComparisonRetrieveApi.as_view(),
        name="api-comparison",
    ),
    path("uploads", UploadListCreateApi.as_view(), name="api-uploads"),
    path("uploads/<uuid:upload_id>", UploadDeleteApi.as_view(), name="api-upload-delete"),
    path("models", ModelListApi.as_view(), name="api-models"),
    path("me/usage", UsageApi.as_view(), name="api-me-usage"),
    path("keys", KeyCollectionRoute.as_view(), name="api-keys"),
    path("keys/<int:key_id>", KeyRevokeApi.as_view(), name="api-key"),
]
