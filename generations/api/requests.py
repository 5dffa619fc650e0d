from typing import Any

from rest_framework.request import Request

from accounts.models import User


class AuthenticatedRequest(Request):
    """The request of a view behind ``IsAuthenticated`` (every native API view), as
    django-stubs suggests typing it: ``user`` is a real user, ``auth`` an ``ApiKey`` for key
    authentication and None for a session."""

    user: User
    auth: Any


def query_data(request: Request) -> dict[str, str]:
    """The query string as a filter serializer should check it: one value per name, empty
    values kept. Given the ``QueryDict`` itself, DRF treats ``?status=`` like an absent
    parameter, so an empty filter would silently widen the answer instead of being refused."""
    return {name: request.query_params[name] for name in request.query_params}
