from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .selectors import credit_balance_get


def balance(request: HttpRequest) -> dict[str, object]:
    """``credit_balance``: the signed-in user's available credits, for the top bar.

    Lazy, so the one query runs only when a template shows it: the htmx card partials that are
    polled every few seconds never pay for it.
    """
    user = request.user
    if not user.is_authenticated:
        return {}
    return {"credit_balance": SimpleLazyObject(lambda: credit_balance_get(user=user).available)}


def signup(request: HttpRequest) -> dict[str, object]:
    """``signup_open``: whether to offer the signup link to visitors who are not signed in;
    ``sso_only``: whether the sign-in page offers passwords to staff only (SSO_ONLY)."""
    return {
        "signup_open": settings.SIGNUP_OPEN and not request.user.is_authenticated,
        "sso_only": settings.SSO_ONLY,
    }
