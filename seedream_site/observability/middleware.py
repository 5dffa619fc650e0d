"""A request id for every request: taken from ``X-Request-Id`` or made, logged, echoed back.

First in ``MIDDLEWARE``, so every later middleware's and the view's log lines carry it. Both
sync and async: under the ASGI server an async view keeps its event loop without a thread hop
through this middleware.
"""

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from studio_core.log_context import bind_request_id

REQUEST_ID_HEADER = "X-Request-Id"
# What a proxy or client may hand us as an id; anything else (too long, spaces, newlines that
# would forge log lines) is replaced by one of ours.
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:=/+\-]{1,128}$")
# Probes and scrapes come every few seconds; their lines would drown the rest at INFO.
_QUIET_PATHS = frozenset({"/healthz", "/metrics"})

logger = logging.getLogger("seedream_site.requests")

GetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


def request_id_for(request: HttpRequest) -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    return incoming if _ACCEPTED_ID.match(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse | AsyncGetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        request_id = request_id_for(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        started = time.monotonic()
        with bind_request_id(request_id):
            response = self.get_response(request)  # type: ignore[assignment]
            _finish(request, response, request_id, started)  # type: ignore[arg-type]
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        request_id = request_id_for(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        started = time.monotonic()
        with bind_request_id(request_id):
            response = await self.get_response(request)  # type: ignore[misc]
            _finish(request, response, request_id, started)
        return response


def _finish(
    request: HttpRequest, response: HttpResponseBase, request_id: str, started: float
) -> None:
    response[REQUEST_ID_HEADER] = request_id
    # The access log: the path without its query string, which may carry tokens.
    logger.log(
        logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO,
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        },
    )
