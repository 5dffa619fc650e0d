"""API rate limits per API key and per user, counted in the default cache (Redis in production).

DRF's stock ``SimpleRateThrottle`` keeps a list of timestamps per client and writes it back
after reading it, so concurrent requests each see the old list and a burst slips past the
limit. These throttles count in fixed windows with ``cache.add`` + ``cache.incr``, which are
atomic on Redis and memcached (and locked on locmem): the n+1th request of a window is refused
however many arrive at once. The price is that a client can spend two windows' worth across a
window boundary, which is acceptable for a fairness limit.

A refused request raises DRF's ``Throttled`` with the seconds until the window ends; DRF sets
``Retry-After`` from it and ``generations.api.errors`` gives the body the code
``rate_limited``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiKey

if TYPE_CHECKING:
    # Type-only: DRF imports this module while building APIView itself.
    from rest_framework.request import Request
    from rest_framework.views import APIView

__all__ = ["ApiKeyRateThrottle", "UserRateThrottle"]


class _WindowRateThrottle(SimpleRateThrottle):
    """A fixed-window counter; subclasses name the rate setting and the client identity."""

    rate_setting = ""
    # Set by SimpleRateThrottle.__init__ from the rate (None when the rate is None).
    num_requests: int | None
    duration: int | None
    window_end: float = 0.0

    def get_rate(self) -> str | None:
        # Read per request (throttles are built per request), so settings overrides apply.
        return getattr(settings, self.rate_setting, None)

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        client_key = self.get_cache_key(request, view)
        if client_key is None:
            return True
        self.now = self.timer()
        window_start = int(self.now // self.duration) * self.duration
        self.window_end = window_start + self.duration
        key = f"{client_key}:{window_start}"
        # A second past the window so the key outlives any clock skew between web processes.
        timeout = self.duration + 1
        self.cache.add(key, 0, timeout=timeout)
        try:
            count = self.cache.incr(key)
        except ValueError:
            # The key expired or was evicted between add() and incr(): this request starts it.
            self.cache.add(key, 1, timeout=timeout)
            count = 1
        return count <= self.num_requests

    def wait(self) -> float:
        return max(1.0, math.ceil(self.window_end - self.now))


class ApiKeyRateThrottle(_WindowRateThrottle):
    """``settings.API_RATE_PER_KEY`` requests per API key; session requests are not counted."""

    scope = "api_key"
    rate_setting = "API_RATE_PER_KEY"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class UserRateThrottle(_WindowRateThrottle):
    """``settings.API_RATE_PER_USER`` requests per user across all their keys and the browser.

    Anonymous requests are not counted: there is no user, and endpoints that need one refuse
    them (401) before throttles run.
    """

    scope = "user"
    rate_setting = "API_RATE_PER_USER"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        user = request.user
        if user is None or not user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}
