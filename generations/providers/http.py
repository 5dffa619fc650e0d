"""The one way the provider layer talks HTTP.

`build_http_client` is the only place an `httpx.Client` is made: explicit timeouts on every
phase, redirects never followed (a redirect could carry our credentials to another host), and an
injectable transport so tests drive adapters through in-process emulators, never the network.

`map_transport_errors` and `error_from_status` turn everything httpx or a provider's status line
can say into the `ProviderError` tree, so retry and failover code never sees an httpx type.
Credentials never enter an error message: callers pass them as `secrets` to be redacted from any
text that came from outside.
"""

from __future__ import annotations

import functools
import math
import os
import ssl
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import certifi
import httpx

from generations.providers.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    ProviderError,
    ProviderTimeout,
    QuotaError,
    RateLimited,
    Unavailable,
)

__all__ = [
    "REQUEST_ID_HEADERS",
    "USER_AGENT",
    "build_http_client",
    "error_from_response",
    "error_from_status",
    "map_transport_errors",
    "parse_retry_after",
    "redact",
    "request_id_from",
]

USER_AGENT = "seedream-studio/0.1 (+provider-layer)"

# Where providers put the id their support desk asks for; the first one present wins.
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-tt-logid", "x-amzn-requestid")

REDACTED = "[redacted]"
# Shorter "secrets" are test placeholders; redacting them would garble ordinary words.
_MIN_SECRET_LENGTH = 6


def build_http_client(
    *,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    connect_timeout_s: float,
    read_timeout_s: float,
    write_timeout_s: float | None = None,
    pool_timeout_s: float | None = None,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """Make an `httpx.Client` for one provider account.

    Write and pool timeouts default to the connect timeout: both measure a stall before the
    provider has the whole request, which should fail as fast as a refused connection.
    The caller owns the client and closes it (use it as a context manager).
    """
    timeout = httpx.Timeout(
        connect=connect_timeout_s,
        read=read_timeout_s,
        write=connect_timeout_s if write_timeout_s is None else write_timeout_s,
        pool=connect_timeout_s if pool_timeout_s is None else pool_timeout_s,
    )
    merged_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    return httpx.Client(
        base_url=base_url,
        headers=merged_headers,
        timeout=timeout,
        follow_redirects=False,
        transport=transport or shared_transport(os.getpid()),
        verify=tls_context(),
    )


class _SharedTransport(httpx.HTTPTransport):
    """A transport every client of the process uses: closing a client leaves it open."""

    def close(self) -> None:
        pass

    def __exit__(self, *args: object) -> None:
        pass


@functools.cache
def shared_transport(pid: int) -> httpx.BaseTransport | None:
    """One connection pool for all provider calls of this process (``pid``: a forked child
    gets its own). A client per call (submit, each poll, each download) would otherwise build
    a pool and open a connection, with a TLS handshake, every time; kept-alive connections are
    reused instead. Connections carry no credentials (each request sends its own headers), so
    accounts can share them. None when the environment names proxies: each client then sets
    them up itself, as httpx does."""
    if urllib.request.getproxies():
        return None
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
    return _SharedTransport(verify=tls_context(), limits=limits)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: loading the CA bundle costs ~35 ms, which a
    client per provider call (submit, each poll, each download) would otherwise pay each time.
    An SSLContext is safe to share between threads."""
    return ssl.create_default_context(cafile=certifi.where())


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every occurrence of each secret in `text` (some providers echo keys back)."""
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_LENGTH:
            text = text.replace(secret, REDACTED)
    return text


# Transport failures that happen before the provider can hold a complete request, so the paid
# call surely was not accepted. A write failure qualifies: a server cannot act on half a body.
_BEFORE_ACCEPTED_TIMEOUTS = (httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteTimeout)
_BEFORE_ACCEPTED_ERRORS = (
    httpx.ConnectError,
    httpx.WriteError,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
)


@contextmanager
def map_transport_errors(*, secrets: Iterable[str] = ()) -> Iterator[None]:
    """Re-raise httpx failures inside the block as `ProviderError`s, chained `from` the original.

    Connect refused/unreachable -> `Unavailable(before_accepted=True)`; connect or pool timeout
    -> `ProviderTimeout(before_accepted=True)`; read timeout -> `ProviderTimeout` (the provider
    may be generating, and billing, already); a connection lost after sending -> `Unavailable`
    that is not failover-safe; an undecodable body -> `BadResponse`.
    """
    secret_list = list(secrets)
    try:
        yield
    except httpx.TimeoutException as exc:
        before = isinstance(exc, _BEFORE_ACCEPTED_TIMEOUTS)
        raise ProviderTimeout(message=_describe(exc, secret_list), before_accepted=before) from exc
    except httpx.TransportError as exc:
        before = isinstance(exc, _BEFORE_ACCEPTED_ERRORS)
        raise Unavailable(message=_describe(exc, secret_list), before_accepted=before) from exc
    except httpx.DecodingError as exc:
        raise BadResponse(message=_describe(exc, secret_list)) from exc


def _describe(exc: httpx.HTTPError, secrets: list[str]) -> str:
    detail = str(exc) or "no detail"
    return redact(f"{type(exc).__name__}: {detail}", secrets)


def error_from_status(
    status: int,
    *,
    message: str,
    provider_code: str | None = None,
    retry_after: float | None = None,
    request_id: str | None = None,
    secrets: Iterable[str] = (),
) -> ProviderError:
    """The error a non-2xx status means when the adapter knows nothing more specific.

    Adapters refine first where a provider's body says more (a 403 that means "out of balance"
    is a `QuotaError`, a 400 naming a content filter is a `ContentRefused`).
    """
    text = redact(message, secrets)
    if status == 429:
        return RateLimited(
            message=text,
            http_status=status,
            provider_code=provider_code,
            request_id=request_id,
            retry_after=retry_after,
        )
    error_class: type[ProviderError]
    if status in (408, 504):
        # The provider (or its gateway) gave up waiting; the work may still have started.
        error_class = ProviderTimeout
    elif status in (401, 403):
        error_class = AuthError
    elif status == 402:
        error_class = QuotaError
    elif 400 <= status < 500:
        # 400/422 invalid parameters, 404 unknown model or endpoint, 413 body too large, ...
        error_class = BadRequest
    elif status >= 500:
        error_class = Unavailable
    elif 300 <= status < 400:
        # Never followed: a redirect could carry the Authorization header to another host.
        error_class = BadResponse
        text = f"unexpected redirect (HTTP {status}): {text}"
    else:
        error_class = BadResponse
        text = f"unexpected status (HTTP {status}): {text}"
    return error_class(
        message=text, http_status=status, provider_code=provider_code, request_id=request_id
    )


def error_from_response(
    response: httpx.Response,
    *,
    message: str,
    provider_code: str | None = None,
    secrets: Iterable[str] = (),
) -> ProviderError:
    """`error_from_status` fed from a response: status, Retry-After and request id headers."""
    return error_from_status(
        response.status_code,
        message=message,
        provider_code=provider_code,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        request_id=request_id_from(response),
        secrets=secrets,
    )


def request_id_from(response: httpx.Response) -> str | None:
    for header in REQUEST_ID_HEADERS:
        value = response.headers.get(header)
        if value:
            return str(value)
    return None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date (RFC 9110 10.2.3).

    Returns None when absent or unreadable; a date in the past gives 0.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # RFC 9110 HTTP-dates are always GMT; parsedate gives naive for "-0000" forms.
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())
