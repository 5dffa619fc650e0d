"""The ASGI body limit, driven directly: what it refuses, in which shape, and what it passes."""

import asyncio
import json

import pytest

from seedream_site import body_limits
from seedream_site.body_limits import BodyLimitMiddleware, body_limit


class App:
    """A stand-in for Django's handler: reads the whole body, then answers 200."""

    def __init__(self) -> None:
        self.called = False
        self.body = b""
        self.aborted = False

    async def __call__(self, scope, receive, send):
        self.called = True
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.aborted = True
                return
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def call(path, chunks, *, method="POST", declared=None, app=None, stall_after=None):
    app = app or App()
    headers = [] if declared is None else [(b"content-length", str(declared).encode())]
    scope = {"type": "http", "method": method, "path": path, "headers": headers}
    pending = list(chunks)
    pulled = []

    async def receive():
        if stall_after is not None and len(pulled) >= stall_after:
            await asyncio.sleep(3600)
        chunk = pending.pop(0)
        pulled.append(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(BodyLimitMiddleware(app)(scope, receive, send))
    status = sent[0]["status"]
    body = b"".join(message.get("body", b"") for message in sent[1:])
    return status, body, app, len(pulled)


def test_a_declared_body_over_the_limit_is_refused_unread():
    status, body, app, pulled = call("/no/such/page", [b"x"], declared=1024**3)
    assert status == 413
    assert not app.called
    assert pulled == 0
    assert b"16,384 bytes" in body


def test_an_undeclared_body_is_cut_off_at_the_limit_in_the_native_shape():
    chunks = [b"x" * 16 * 1024] * 100  # 1.6 MB to a JSON endpoint capped at 64 KiB
    status, body, app, pulled = call("/api/v1/keys", chunks)
    assert status == 413
    assert app.aborted
    assert pulled == 5  # stopped right past 64 KiB, the rest never read
    assert json.loads(body)["error"]["code"] == "request_too_large"


def test_openai_routes_answer_in_openais_envelope():
    status, body, _, _ = call("/v1/images/edits", [b"x"], declared=100 * 1024**2)
    assert status == 413
    assert set(json.loads(body)["error"]) == {"message", "type", "code", "param"}


def test_a_stalled_body_is_408(monkeypatch):
    monkeypatch.setattr(body_limits, "BODY_IDLE_TIMEOUT_S", 0.1)
    status, _, app, _ = call("/api/v1/keys", [b"{", b"}"], stall_after=1)
    assert status == 408
    assert app.aborted


def test_a_body_within_the_limit_passes_whole():
    status, body, app, _ = call("/api/v1/generations", [b"{}"] * 3)
    assert (status, body, app.body) == (200, b"ok", b"{}{}{}")


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/api/v1/uploads", 10 * 1024**2 + 64 * 1024),
        ("POST", "/v1/images/edits", 64 * 1024**2 + 1024**2),
        ("POST", "/api/v1/generations", 64 * 1024**2 * 4 // 3 + 1024**2),
        ("POST", "/api/v1/keys", 64 * 1024),
        ("POST", "/admin/accounts/user/", 1024**2),
        ("POST", "/login/", 16 * 1024),
        ("GET", "/api/v1/uploads", 16 * 1024),
    ],
)
def test_each_route_has_its_ceiling(method, path, expected):
    assert body_limit(method=method, path=path) == expected
