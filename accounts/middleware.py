"""Two checks ahead of the view: a signed-in session's activity noted for the sessions page,
and the admin kept closed to staff without two-factor authentication (MFA_REQUIRED_FOR_STAFF).

Both are sync and async: under the ASGI server a request they do not concern passes without a
thread hop, and one they do makes a single short hop for its database work, before the view (an
async view then waits without holding a thread).
"""

from collections.abc import Awaitable, Callable
from typing import cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse

from studio_core.client_ip import client_ip

from .models import User
from .services.sessions import session_activity_note
from .services.two_factor import staff_admin_needs_mfa, staff_admin_refusal_record

GetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


class _BeforeViewMiddleware:
    """Calls ``before`` (sync, may query) for the requests ``concerns`` picks (cheap, no query);
    a response ``before`` returns answers instead of the view."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse | AsyncGetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def concerns(self, request: HttpRequest) -> bool:
        raise NotImplementedError

    def before(self, request: HttpRequest) -> HttpResponseBase | None:
        raise NotImplementedError

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        answer = self.before(request) if self.concerns(request) else None
        return answer or cast(GetResponse, self.get_response)(request)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        answer = await sync_to_async(self.before)(request) if self.concerns(request) else None
        return answer or await cast(AsyncGetResponse, self.get_response)(request)


class SessionActivityMiddleware(_BeforeViewMiddleware):
    """Notes the browser, address and time of requests that carry a session (allauth's
    usersessions middleware would, but only synchronously and on every request)."""

    def concerns(self, request: HttpRequest) -> bool:
        return settings.SESSION_COOKIE_NAME in request.COOKIES

    def before(self, request: HttpRequest) -> None:
        session_activity_note(request=request)


class StaffMfaRequiredMiddleware(_BeforeViewMiddleware):
    """With MFA_REQUIRED_FOR_STAFF, a staff member without two-factor authentication who opens
    the admin is sent to set it up first (each refusal audited)."""

    def concerns(self, request: HttpRequest) -> bool:
        return settings.MFA_REQUIRED_FOR_STAFF and request.path.startswith(reverse("admin:index"))

    def before(self, request: HttpRequest) -> HttpResponseBase | None:
        user = request.user
        if not user.is_authenticated or not staff_admin_needs_mfa(user=cast(User, user)):
            return None
        staff_admin_refusal_record(
            user=cast(User, user), path=request.path, ip_address=client_ip(request)
        )
        messages.warning(
            request,
            "The admin needs two-factor authentication on your account: set up an "
            "authenticator app, then open the admin again.",
        )
        return HttpResponseRedirect(reverse("mfa_activate_totp"))
