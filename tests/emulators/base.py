"""What every provider emulator shares: routing, faults, served image files, two ways to run.

An emulator is a WSGI application. Tests use it in-process through ``emulator.transport()``
(an httpx transport, no socket) or on a loopback port with ``with emulator.serve(): ...``
(``emulator.base_url`` is then ``http://127.0.0.1:<port>``). Both run the same code.

Reference images: a provider that takes references as URLs fetches them before it generates.
Give an emulator a ``reference_transport`` (an httpx transport reaching the server that hosts the
link, e.g. our Django app) and it does the same through ``fetch_reference``, refusing the request
when the link does not serve an image; without one, URL references are taken on trust. Which
references an emulator takes inline (data URIs) is each provider's rule, checked with
``data_uri_bytes``.

Faults are injected per emulator (``emulator.faults.add(...)``, consumed in order by matching
requests) or per request (a ``[fault:<kind>]`` token in the prompt, for end-to-end tests that
cannot reach the emulator object).
"""

from __future__ import annotations

import base64
import functools
import io
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

import httpx
from PIL import Image

StartResponse = Callable[..., Any]
Handler = Callable[["EmulatorRequest"], "EmulatorResponse"]

FAULT_KINDS = (
    "latency",  # sleep `seconds` before answering
    "rate_limit",  # 429 with Retry-After
    "server_error",  # 500
    "unavailable",  # 503
    "drop",  # connection closed without an answer
    "hang",  # no answer until the client's read timeout
    "malformed",  # 200 with a body that is not JSON
    "expired_url",  # image URLs in the answer are already gone (404)
    "refuse",  # the provider's content refusal
    "partial",  # the last image of a group fails
    "auth",  # 401 as for a bad key
    # Task-based providers (jobs):
    "stuck",  # the job stays queued forever
    "fail_after_run",  # the job runs, then fails
    "flaky_download",  # an output URL answers 404 on the first download, then serves the file
)
PROMPT_FAULT = re.compile(r"\[fault:([a-z_]+)(?::([0-9.]+))?\]")


class DropConnection(Exception):
    """Raised by a handler: close the connection without an answer."""


class Hang(Exception):
    """Raised by a handler: answer nothing for ``seconds`` (the client's timeout fires first)."""

    def __init__(self, seconds: float = 30.0) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@dataclass
class Fault:
    kind: str
    seconds: float = 0.0  # latency / hang / Retry-After
    path: str = ""  # only requests whose path contains this; "" = any request
    times: int = 1

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; known: {', '.join(FAULT_KINDS)}")


@dataclass
class FaultPlan:
    """Faults waiting for the next matching requests, in order."""

    pending: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, *, seconds: float = 0.0, path: str = "", times: int = 1) -> None:
        with self.lock:
            self.pending.append(Fault(kind=kind, seconds=seconds, path=path, times=times))

    def take(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.pending:
                if fault.path in path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.pending.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self.lock:
            self.pending.clear()


@dataclass
class EmulatorRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    match: re.Match[str] | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass
class EmulatorResponse:
    status: int
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> EmulatorResponse:
        return cls(
            status=status,
            body=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    422: "Unprocessable",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Emulator:
    """Base class: subclasses register routes in ``__init__`` with ``self.route``."""

    name = "emulator"

    def __init__(self, *, api_key: str = "test-key", latency_s: float = 0.0) -> None:
        self.api_key = api_key
        self.latency_s = latency_s
        self.faults = FaultPlan()
        self.requests: list[RecordedRequest] = []
        self.files: dict[str, tuple[bytes, str]] = {}
        self._flaky: set[str] = set()
        self.base_url = "http://emulator.invalid"
        self.reference_transport: httpx.BaseTransport | None = None
        self.fetched_references: list[tuple[str, bytes]] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._lock = threading.Lock()
        self.route(
            "GET", r"/files/(?P<file_id>[A-Za-z0-9_-]+)\.(?P<ext>jpeg|jpg|png)", self._serve_file
        )

    @property
    def api_url(self) -> str:
        """The API's root as an account names it (its base URL); a provider under a path
        (`/v1`, `/api/v3`) says so."""
        return self.base_url

    # --- routing -------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(f"^{pattern}$"), handler))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = self._request_from(environ)
        response = self.dispatch(request)
        reason = REASONS.get(response.status, "Status")
        start_response(f"{response.status} {reason}", list(response.headers.items()))
        body = response.body
        return [body] if isinstance(body, bytes) else body

    def dispatch(self, request: EmulatorRequest) -> EmulatorResponse:
        if not request.path.startswith("/files/"):
            with self._lock:
                self.requests.append(
                    RecordedRequest(
                        method=request.method,
                        path=request.path,
                        headers=dict(request.headers),
                        body=_maybe_json(request.body),
                    )
                )
        # The provider's working time; its files (a CDN) answer at once.
        if self.latency_s and not request.path.startswith("/files/"):
            time.sleep(self.latency_s)
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                request.match = match
                return handler(request)
        return EmulatorResponse.json(
            404, {"error": {"message": f"no route {request.method} {request.path}"}}
        )

    def _request_from(self, environ: dict[str, Any]) -> EmulatorRequest:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        query = dict(
            pair.split("=", 1) if "=" in pair else (pair, "")
            for pair in environ.get("QUERY_STRING", "").split("&")
            if pair
        )
        return EmulatorRequest(
            method=environ["REQUEST_METHOD"],
            path=environ.get("PATH_INFO", "/"),
            query=query,
            headers=headers,
            body=body,
        )

    # --- faults --------------------------------------------------------------------------
    def fault_for(self, request: EmulatorRequest, prompt: str = "") -> Fault | None:
        """The fault this request meets: a queued one first, else one named in the prompt."""
        fault = self.faults.take(request.path)
        if fault is None and prompt:
            found = PROMPT_FAULT.search(prompt)
            if found and found.group(1) in FAULT_KINDS:
                fault = Fault(kind=found.group(1), seconds=float(found.group(2) or 0))
        if fault is not None and fault.kind == "latency":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "drop":
            raise DropConnection
        if fault is not None and fault.kind == "hang":
            raise Hang(fault.seconds or 30.0)
        return fault

    # --- image files ---------------------------------------------------------------------
    def store_image(self, *, width: int, height: int, fmt: str = "jpeg", seed: int = 0) -> str:
        """Render a small real image at the given size; returns its URL on this emulator."""
        content = render_test_image(width=width, height=height, fmt=fmt, seed=seed)
        file_id = secrets.token_hex(8)
        with self._lock:
            self.files[file_id] = (content, fmt)
        return f"{self.base_url}/files/{file_id}.{fmt}"

    def make_flaky(self, url: str) -> None:
        """The file behind ``url`` answers 404 once, then serves normally."""
        with self._lock:
            self._flaky.add(file_id_of(url))

    def forget_file(self, url: str) -> None:
        """The file behind ``url`` is gone (404), as an expired link is."""
        with self._lock:
            self.files.pop(file_id_of(url), None)

    def expire_files(self) -> None:
        with self._lock:
            self.files.clear()

    def _serve_file(self, request: EmulatorRequest) -> EmulatorResponse:
        assert request.match is not None
        file_id = request.match["file_id"]
        with self._lock:
            if file_id in self._flaky:
                self._flaky.discard(file_id)
                return EmulatorResponse(404, b"not yet", {"Content-Type": "text/plain"})
        stored = self.files.get(file_id)
        if stored is None:
            return EmulatorResponse(404, b"gone", {"Content-Type": "text/plain"})
        content, fmt = stored
        return EmulatorResponse(200, content, {"Content-Type": f"image/{fmt}"})

    # --- reference images ----------------------------------------------------------------
    def fetch_reference(self, url: str) -> str:
        """Fetch a URL reference as the provider would: "" when it served an image, else the
        problem to answer with. Without a ``reference_transport`` the URL is taken on trust."""
        if self.reference_transport is None:
            return ""
        try:
            with httpx.Client(transport=self.reference_transport, timeout=10.0) as client:
                response = client.get(url)
        except httpx.HTTPError as error:
            return f"the reference image at {url} could not be downloaded: {error}"
        if response.status_code != 200:
            return f"the reference image at {url} answered HTTP {response.status_code}"
        try:
            with Image.open(io.BytesIO(response.content)) as image:
                image.verify()
        except Exception:  # Pillow raises many types for bytes that are not an image
            return f"the reference image at {url} is not an image"
        with self._lock:
            self.fetched_references.append((url, response.content))
        return ""

    # --- running -------------------------------------------------------------------------
    def transport(self) -> httpx.BaseTransport:
        """An in-process httpx transport: no socket, same handlers and faults."""
        return _InProcessTransport(self)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on a loopback port for the duration; yields the base URL."""
        server = make_server(
            "127.0.0.1",
            0,
            self._socket_app,
            server_class=_ThreadingServer,
            handler_class=_QuietHandler,
        )
        previous = self.base_url
        self.base_url = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            yield self.base_url
        finally:
            server.shutdown()
            server.server_close()
            self.base_url = previous

    def _socket_app(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        try:
            return self(environ, start_response)
        except DropConnection:
            pass
        except Hang as hang:
            time.sleep(hang.seconds)
        # Close the socket, then let wsgiref fail to write to it: it ignores a broken pipe.
        _close_client_socket(environ)
        start_response("500 Dropped", [])
        return []


class _InProcessTransport(httpx.BaseTransport):
    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._wsgi = httpx.WSGITransport(app=emulator)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._wsgi.handle_request(request)
        except DropConnection:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        except Hang:
            raise httpx.ReadTimeout("timed out", request=request) from None


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: hundreds of calls opened at once (a benchmark's
    # worker, as against a provider's load balancer) would find connections reset.
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a dropped connection (an injected fault) is expected, not news


class _KeepAliveServerHandler(ServerHandler):
    """wsgiref's handler answering in HTTP/1.1, so a connection can carry the next request:
    one whose length is told. Any other response says it closes the connection."""

    http_version = "1.1"
    keep_alive = False

    def cleanup_headers(self) -> None:
        super().cleanup_headers()  # sets the Content-Length of a body in one piece
        assert self.headers is not None
        self.keep_alive = "Content-Length" in self.headers
        if not self.keep_alive:
            self.headers["Connection"] = "close"


class _QuietHandler(WSGIRequestHandler):
    """Keeps connections alive between requests, as the providers' APIs do (wsgiref's own
    handler closes each one): a client's pool then reuses them, with no connect per call.
    A response without a Content-Length (a stream) still ends its connection."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # wsgiref writes the head and the body apart: without this, Nagle's algorithm holds the
        # body back for the client's delayed ACK, ~40 ms per response on a kept connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        self.close_connection = True
        self._handle_one_request()
        while not self.close_connection:
            self._handle_one_request()

    def _handle_one_request(self) -> None:
        """wsgiref's ``handle``, for one request of a kept-alive connection."""
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline, self.request_version, self.command = "", "", ""
            self.send_error(414)
            self.close_connection = True
            return
        if not self.parse_request():  # answers a bad request itself
            self.close_connection = True
            return
        handler = _KeepAliveServerHandler(
            self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=False
        )
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]
        if not handler.keep_alive:
            self.close_connection = True

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ["emulator.socket"] = self.connection  # so a fault can drop the connection
        return environ

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _close_client_socket(environ: dict[str, Any]) -> None:
    connection = environ.get("emulator.socket")
    if isinstance(connection, socket.socket):
        connection.shutdown(socket.SHUT_RDWR)


def file_id_of(url: str) -> str:
    """The id of a file this emulator serves, from its URL (``.../files/<id>.<ext>``)."""
    return url.rsplit("/", 1)[-1].split(".", 1)[0]


def _maybe_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body


_DATA_URI = re.compile(r"^data:image/[a-z0-9.+-]+;base64,(?P<payload>[A-Za-z0-9+/=]+)$")


def data_uri_bytes(value: object) -> bytes | None:
    """The decoded bytes of a `data:image/<fmt>;base64,` URI; None for anything else."""
    found = _DATA_URI.match(value) if isinstance(value, str) else None
    if found is None:
        return None
    try:
        return base64.b64decode(found["payload"], validate=True)
    except ValueError:
        return None


def multipart_parts(request: EmulatorRequest) -> dict[str, tuple[bytes, str]]:
    """The parts of a `multipart/form-data` body by name: (bytes, content type)."""
    content_type = request.header("content-type")
    if not content_type.startswith("multipart/form-data"):
        return {}
    message = BytesParser(policy=email_policy).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + request.body
    )
    parts: dict[str, tuple[bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = (payload, part.get_content_type())
    return parts


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def render_test_image(*, width: int, height: int, fmt: str = "jpeg", seed: int = 0) -> bytes:
    """A plain image of one colour; the seed picks it (256 colours, in turn)."""
    return _rendered(width, height, fmt, seed % 256)


# Remembered: the bytes depend only on the arguments, and a provider renders on its own
# machines, so the emulator should not spend the benchmarks' CPU encoding the same image again.
@functools.lru_cache(maxsize=1024)
def _rendered(width: int, height: int, fmt: str, seed: int) -> bytes:
    colour = ((seed * 67) % 256, (seed * 131) % 256, (seed * 29) % 256)
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(
        buffer, format="PNG" if fmt == "png" else "JPEG", quality=70
    )
    return buffer.getvalue()


def parse_size(size: str) -> tuple[int, int] | None:
    found = re.fullmatch(r"\s*(\d+)\s*[x×X]\s*(\d+)\s*", size or "")  # noqa: RUF001
    return (int(found[1]), int(found[2])) if found else None
