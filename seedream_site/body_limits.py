"""Request bodies refused before they are read: an ASGI middleware in front of Django.

Django's ASGI handler spools a whole body to a temporary file before it resolves the URL or
authenticates anyone, so a limit in a view or a parser comes too late: an anonymous 1 GB POST
to a page that does not exist fills ``/tmp`` first. Here each route has a ceiling
(``body_limit``): a declared ``Content-Length`` over it is answered ``413`` at once, without
reading a byte; a body sent without a length is counted as it arrives and cut off at the
ceiling. A body that stalls (no bytes for ``BODY_IDLE_TIMEOUT_S``) is answered ``408``. Each
answer is in the interface's shape: the native JSON envelope under ``/api/``, OpenAI's under
``/v1/``, plain text elsewhere.

uvicorn has no per-route body limit of its own (only header and keep-alive limits), hence this.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

# Loose on purpose: servers and Django's handler each type the ASGI callables their own way.
Scope = Any
Message = Any
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

KIB = 1024
MIB = 1024 * KIB
# JSON calls without images (keys, cancel, filters) and the admin's forms.
API_BODY_MAX = 64 * KIB
ADMIN_BODY_MAX = 1 * MIB
# Every other page's form (log in, boards, star, cancel) and any unknown path.
PAGE_BODY_MAX = 16 * KIB
BODY_IDLE_TIMEOUT_S = 30.0


def references_body_max(*, base64: bool) -> int:
    """A body carrying a request's references at their total cap, plus room for the fields."""
    references = settings.REFERENCES_MAX_TOTAL_BYTES
    return (references * 4 // 3 if base64 else references) + MIB


def body_limit(*, method: str, path: str) -> int:
    """The most bytes a request to ``method path`` may send."""
    if method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return PAGE_BODY_MAX
    if path == "/api/v1/uploads":
        return settings.REFERENCE_MAX_BYTES + 64 * KIB
    if path in ("/api/v1/generations", "/v1/images/generations"):
        return references_body_max(base64=True)  # JSON: references as data URIs
    if path in ("/v1/images/edits", "/"):
        return references_body_max(base64=False)  # multipart: the files themselves
    if path.startswith(("/api/", "/v1/")):
        return API_BODY_MAX
    if path.startswith("/admin/"):
        return ADMIN_BODY_MAX
    return PAGE_BODY_MAX


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(method=scope["method"], path=scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, status=413, limit=limit)
            return
        received = 0
        body_done = False
        refused: int | None = None
        started = False

        async def limited_receive() -> Message:
            nonlocal received, body_done, refused
            if refused is not None:
                return {"type": "http.disconnect"}
            if body_done:  # after the body: the server's wait for a disconnect, unbounded
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout=BODY_IDLE_TIMEOUT_S)
            except TimeoutError:
                refused = 408
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit:
                    refused = 413
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, tracking_send)
        if refused is not None and not started:
            await _refuse(scope, send, status=refused, limit=limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1")
            return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None
    return None


async def _refuse(scope: Scope, send: Send, *, status: int, limit: int) -> None:
    if status == 413:
        code = "request_too_large"
        message = (
            f"The request body is larger than {limit:,} bytes, the most "
            f"{scope['method']} {scope['path']} accepts. Reference images may be at most "
            f"{settings.REFERENCE_MAX_BYTES // MIB} MB each and "
            f"{settings.REFERENCES_MAX_TOTAL_BYTES // MIB} MB together."
        )
    else:
        code = "request_timeout"
        message = f"The request body stalled for {BODY_IDLE_TIMEOUT_S:.0f} s; send it again."
    path = scope["path"]
    body: dict[str, Any] | None
    if path.startswith("/api/"):
        body = {"error": {"code": code, "message": message, "details": {"limit": limit}}}
        content_type = b"application/json"
    elif path.startswith("/v1/"):
        body = {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "code": code,
                "param": None,
            }
        }
        content_type = b"application/json"
    else:
        body = None
        content_type = b"text/plain; charset=utf-8"
    payload = (json.dumps(body) if body is not None else message).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
