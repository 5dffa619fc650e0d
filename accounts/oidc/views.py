"""The OpenID Connect sign-in's two pages: allauth's, with our adapter, and the callback
refused (429) while the client's address is locked after repeated failed sign-ins."""

from typing import Any

from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from django.http import Http404, HttpRequest, HttpResponse

from ..views import login_lockout_response
from .form_action import form_action_allow_providers
from .provider import NONCE_STATE_KEY, VerifiedOpenIDConnectAdapter


class NonceCheckingCallbackView(OAuth2CallbackView):
    """allauth's callback; the state it finds (by the ``state`` parameter, in this browser's
    session) hands its nonce to the adapter that checks the ID token."""

    adapter: VerifiedOpenIDConnectAdapter

    def _get_state(self, request: HttpRequest, provider: Any) -> tuple[Any, Any]:
        state, response = super()._get_state(request, provider)
        if state is not None:
            self.adapter.expected_nonce = state.get(NONCE_STATE_KEY)
        return state, response


@login_not_required
def login(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        view = OAuth2LoginView.adapter_view(VerifiedOpenIDConnectAdapter(request, provider_id))
        # A GET shows a "Continue" button that posts here, then on to the provider.
        return form_action_allow_providers(request, view(request))
    except SocialApp.DoesNotExist as error:
        raise Http404("No such sign-in provider.") from error


@login_not_required
def callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    locked = login_lockout_response(request, login=None)
    if locked is not None:
        return locked
    try:
        view = NonceCheckingCallbackView.adapter_view(
            VerifiedOpenIDConnectAdapter(request, provider_id)
        )
        return view(request)  # type: ignore[no-any-return]
    except SocialApp.DoesNotExist as error:
        raise Http404("No such sign-in provider.") from error
