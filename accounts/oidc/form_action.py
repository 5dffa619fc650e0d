"""The sign-in buttons post to our own page, which redirects the browser to the identity
provider; browsers hold that redirect to the page's Content-Security-Policy ``form-action``
('self' everywhere else). The pages that carry those buttons allow the providers' origins."""

from urllib.parse import urlsplit

from allauth.socialaccount.adapter import get_adapter
from django.http import HttpRequest, HttpResponse


def provider_origins(request: HttpRequest) -> list[str]:
    """The origins of the configured OpenID providers (their authorization endpoints sit on
    the issuer's origin: Google's, Microsoft Entra ID's, Keycloak's, Okta's)."""
    origins = set()
    for app in get_adapter().list_apps(request, provider="openid_connect"):
        parts = urlsplit(app.settings.get("server_url", ""))
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.add(f"{parts.scheme}://{parts.netloc}")
    return sorted(origins)


def form_action_allow_providers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    origins = provider_origins(request)
    if origins:
        # django-csp reads this attribute of the response (its per-response update).
        response._csp_update = {"form-action": origins}  # type: ignore[attr-defined]
    return response
