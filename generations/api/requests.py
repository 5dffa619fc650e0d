from typing import Any

from rest_framework.request import Request

from accounts.models import User


class AuthenticatedRequest(Request):
    """The request of a view behind ``IsAuthenticated`` (every native API view), as
    django-stubs suggests typing it: ``user`` is a real user, ``auth`` an ``ApiKey`` for key
    authentication and None for a session."""

    user: User
    auth: Any
