"""``Authorization: Bearer <key>`` for the REST API (what the OpenAI SDK sends)."""

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .models import ApiKey, User
from .services.keys import ApiKeyInvalid, api_key_authenticate, api_key_mark_used


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None  # not ours: session auth or anonymous
        raw_key = raw_key.strip()
        if not raw_key:
            raise exceptions.AuthenticationFailed(
                "The Authorization header has no key: send 'Authorization: Bearer <key>'."
            )
        try:
            api_key = api_key_authenticate(raw_key=raw_key)
        except ApiKeyInvalid as error:
            raise exceptions.AuthenticationFailed(str(error)) from None
        api_key_mark_used(api_key=api_key)
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing or wrong.
        return f'{self.keyword} realm="api"'
