"""allauth's OpenID Connect provider, with a nonce on every request and the ID token verified
(``id_token``). Chosen in ``SOCIALACCOUNT_PROVIDERS["openid_connect"]["provider_class"]``; its
login and callback pages are ``accounts.oidc.urls`` (same names and paths as allauth's)."""

import secrets
from typing import Any

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp, SocialLogin, SocialToken
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.http import HttpRequest, HttpResponse

from .id_token import id_token_verify

NONCE_STATE_KEY = "nonce"


class VerifiedOpenIDConnectAdapter(OpenIDConnectOAuth2Adapter):
    """Signs in only with an ID token that passed ``id_token_verify``; the userinfo endpoint,
    when read, must describe the same subject."""

    # The nonce sent with this sign-in's request, from its state (set by the callback view).
    expected_nonce: str | None = None

    def complete_login(
        self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any
    ) -> SocialLogin:
        id_token = kwargs["response"].get("id_token")
        if not id_token:
            raise OAuth2Error("The identity provider sent no ID token.")
        claims = id_token_verify(
            id_token=id_token,
            jwks_uri=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"],
            client_id=app.client_id,
            nonce=self.expected_nonce,
        )
        data: dict[str, Any] = {"id_token": claims}
        if app.settings.get("fetch_userinfo", True):
            with get_adapter().get_requests_session() as session:
                response = session.get(
                    self.profile_url, headers={"Authorization": f"Bearer {token.token}"}
                )
                response.raise_for_status()
                userinfo = response.json()
            if userinfo.get("sub") != claims["sub"]:
                raise OAuth2Error("The userinfo endpoint describes another subject.")
            data["userinfo"] = userinfo
        return self.get_provider().sociallogin_from_response(request, data)


class VerifiedOpenIDConnectProvider(OpenIDConnectProvider):
    oauth2_adapter_class = VerifiedOpenIDConnectAdapter
    # allauth builds each provider's URLs from its package: ours, so the callback is ours.
    package = "accounts.oidc"

    def get_oauth2_adapter(self, request: HttpRequest) -> VerifiedOpenIDConnectAdapter:
        return VerifiedOpenIDConnectAdapter(request, self.app.provider_id)

    def redirect(
        self,
        request: HttpRequest,
        process: str,
        next_url: str | None = None,
        data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> HttpResponse:
        """The authorization request, with a fresh nonce, kept in this sign-in's state for
        the callback to compare with the ID token's."""
        nonce = secrets.token_urlsafe(32)
        auth_params = kwargs.pop("auth_params", None)
        auth_params = dict(self.get_auth_params() if auth_params is None else auth_params)
        auth_params["nonce"] = nonce
        return super().redirect(  # type: ignore[no-any-return]
            request, process, next_url, data, auth_params=auth_params, **kwargs, nonce=nonce
        )


provider_classes = [VerifiedOpenIDConnectProvider]
