"""The native REST API, mounted at /api/v1/."""

from django.urls import include, path
from drf_spectacular.utils import extend_schema, extend_schema_view

from accounts.apis import MeApi
from generations.api.schema import error_responses


@extend_schema_view(
    get=extend_schema(
        operation_id="me_retrieve",
        summary="Who I am, my balance and the key in use",
        responses={200: MeApi.OutputSerializer, **error_responses()},
    )
)
class MeRoute(MeApi):
    """MeApi with its schema; described here, where the route is declared, so the accounts
    app needs no knowledge of drf-spectacular."""


urlpatterns = [
    path("me", MeRoute.as_view(), name="api-me"),
    path("", include("generations.api.urls")),
]
