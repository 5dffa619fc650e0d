from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .selectors import top_bar_get


def balance(request: HttpRequest) -> dict[str, object]:
    """``credit_balance``: the signed-in user's available credits, for the top bar, and
    ``in_a_team``: whether it links the team pages.

    Lazy, so the one query (for both) runs only when a template shows them: the htmx card
    partials that are polled every few seconds never pay for it.
    """
    user = request.user
    if not user.is_authenticated:
        return {}
    top_bar = SimpleLazyObject(lambda: top_bar_get(user=user))
    return {
        "credit_balance": SimpleLazyObject(lambda: top_bar.available),
        "in_a_team": SimpleLazyObject(lambda: top_bar.in_a_team),
    }


def signup(request: HttpRequest) -> dict[str, object]:
    """``signup_open``: whether to offer the signup link to visitors who are not signed in;
    ``sso_only``: whether the sign-in page offers passwords to staff only (SSO_ONLY)."""
    return {
        "signup_open": settings.SIGNUP_OPEN and not request.user.is_authenticated,
        "sso_only": settings.SSO_ONLY,
    }
