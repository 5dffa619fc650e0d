"""Fetching URLs that users supply (reference images, webhook receivers) without SSRF.

A user-supplied URL must never make the server talk to our own network: the cloud metadata
service, the database, Redis, an admin panel on localhost. So before any connection:

1. only ``http``/``https`` URLs are accepted;
2. the host is resolved once, and the URL is refused if ANY address it resolves to is not a
   public internet address (an attacker's DNS can answer one public and one private record);
3. the connection goes to that vetted address (pinned) with the original ``Host`` header and
   TLS server name, so a second DNS answer (DNS rebinding) cannot swap in a private address;
4. redirects are followed by hand, at most ``MAX_REDIRECTS``, each hop vetted the same way
   (webhook POSTs follow none);
5. timeouts on every phase, a byte cap counted while streaming, and, for references, an
   ``image/*`` content type and image magic numbers.

Every refusal raises ``FetchRefused`` with a stable ``code`` and a message naming the reason and
the fix; the API answers it as a 400. ``FetchFailed`` (a subclass) marks failures of an allowed
address (timeout, refused connection, HTTP error) that may succeed when tried again.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import httpx
from django.conf import settings

from generations.providers.http import build_http_client
from studio_core.parsing import int_from_text

__all__ = [
    "FetchFailed",
    "FetchRefused",
    "PostResult",
    "address_refusal",
    "reference_fetch",
    "url_vet",
    "webhook_post",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2000
MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
FETCH_CONNECT_TIMEOUT_S = 5.0
FETCH_READ_TIMEOUT_S = 15.0
# The read timeout bounds each stall; this bounds a server that trickles bytes forever.
FETCH_DEADLINE_S = 60.0
WEBHOOK_CONNECT_TIMEOUT_S = 5.0
WEBHOOK_TIMEOUT_S = 10.0
# Of a webhook receiver's answer we keep an excerpt; reading more would only cost memory.
WEBHOOK_RESPONSE_READ_BYTES = 4096
# A name resolving to many addresses is tried on a few, so one request cannot fan out.
MAX_ADDRESSES_TRIED = 3

# Leading bytes of the formats a provider accepts as a reference (JPEG, PNG, GIF, WebP, BMP,
# TIFF); WebP is "RIFF", four size bytes, then "WEBP".
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
_MAGIC_BYTES_NEEDED = 12

_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
# Ranges that are no public internet host but that Python's ``is_global`` (3.11) lets through.
_NOT_PUBLIC_NETWORKS: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = (
    (ipaddress.IPv4Network("192.0.0.0/24"), "IETF protocol assignments"),
    (ipaddress.IPv4Network("192.88.99.0/24"), "6to4 relay anycast (deprecated)"),
    (ipaddress.IPv6Network("fec0::/10"), "site-local (deprecated)"),
    (ipaddress.IPv6Network("3fff::/20"), "documentation"),
)


class FetchRefused(ValueError):
    """A user-supplied URL we will not fetch; ``code`` is stable, the message says what to do."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class FetchFailed(FetchRefused):
    """The address was allowed but the transfer failed; trying again later may succeed."""


@dataclass(frozen=True)
class PostResult:
    status_code: int
    body_excerpt: str


@dataclass(frozen=True)
class _Target:
    url: httpx.URL
    host: str  # ASCII (punycode) host name: for DNS, the Host header and TLS SNI
    addresses: tuple[IPAddress, ...]


# --- vetting ----------------------------------------------------------------------------------


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public internet address, or None when it is.

    IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) are refused when
    the embedded address would be.
    """
    if isinstance(address, ipaddress.IPv6Address):
        for embedded in _embedded_ipv4(address):
            reason = address_refusal(embedded)
            if reason is not None:
                return f"{reason} (embedded in {address})"
    checks = (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        # Reserved before private: Python counts 240.0.0.0/4 as both; "reserved" says more.
        ("is_reserved", "reserved"),
        ("is_private", "private"),
    )
    for attribute, reason in checks:
        if getattr(address, attribute):
            return reason
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE:
        return "shared (carrier-grade NAT)"
    for network, reason in _NOT_PUBLIC_NETWORKS:
        if address.version == network.version and address in network:
            return reason
    if not address.is_global:
        return "non-public"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    embedded = [address.ipv4_mapped, address.sixtofour]
    if address.teredo is not None:
        embedded.extend(address.teredo)
    if address in _NAT64_PREFIX:
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [candidate for candidate in embedded if candidate is not None]


def url_vet(url: str) -> None:
    """Raise ``FetchRefused`` unless ``url`` could be fetched (webhook URLs at create time)."""
    _target_for(url)


def _parse(url: str) -> httpx.URL:
    if len(url) > MAX_URL_LENGTH:
        raise FetchRefused("invalid_url", f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise FetchRefused("invalid_url", f"The URL is not valid ({error}).") from error
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise FetchRefused(
            "scheme_not_allowed",
            f"Only http:// and https:// URLs can be fetched; got {parsed.scheme or 'no'} "
            "scheme. Use an https:// link.",
        )
    if not parsed.raw_host:
        raise FetchRefused("invalid_url", "The URL has no host name. Use a full https:// link.")
    return parsed


def _target_for(url: str) -> _Target:
    parsed = _parse(url)
    host = parsed.raw_host.decode("ascii").lower()
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = _resolve(host, port)
    if host not in _allowed_private_hosts():
        for address in addresses:
            reason = address_refusal(address)
            if reason is not None:
                raise FetchRefused(
                    "private_address",
                    f"The host {host} resolves to {address}, a {reason} address; only public "
                    "internet addresses can be fetched. Use a URL that is reachable from the "
                    "internet.",
                )
    return _Target(url=parsed, host=host, addresses=addresses)


def _allowed_private_hosts() -> frozenset[str]:
    # Only the test suite sets this (its own loopback servers); empty in every real profile.
    return frozenset(host.lower() for host in settings.FETCH_ALLOW_PRIVATE_HOSTS)


def _resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    """Every address ``host`` resolves to, IPv4-mapped ones unwrapped, in resolver order."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        return (_unwrap(literal),)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchFailed(
            "unresolvable",
            f"The host {host} could not be resolved. Check the spelling of the URL.",
        ) from error
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        address = _unwrap(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchFailed("unresolvable", f"The host {host} has no addresses.")
    return tuple(addresses)


def _unwrap(address: IPAddress) -> IPAddress:
    # ::ffff:a.b.c.d is the IPv4 host a.b.c.d: vet and connect to that, on any Python version.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


# --- pinned requests --------------------------------------------------------------------------


@contextlib.contextmanager
def _pinned_send(
    client: httpx.Client,
    target: _Target,
    *,
    method: str,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
) -> Iterator[httpx.Response]:
    """Send to the vetted addresses in turn (the next only if connecting failed) and stream.

    The request URL names the IP, so httpx connects there without resolving again; the Host
    header and the TLS server name (certificate check included) stay the original host's.
    """
    netloc = target.url.netloc.decode("ascii")
    request_headers = {**(headers or {}), "Host": netloc}
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
    last_error: httpx.HTTPError | None = None
    for address in target.addresses[:MAX_ADDRESSES_TRIED]:
        request = client.build_request(
            method,
            target.url.copy_with(host=str(address)),
            headers=request_headers,
            content=content,
            extensions=extensions,
        )
        try:
            response = client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            last_error = error
            continue
        except httpx.HTTPError as error:
            raise _transport_failure(target, error) from error
        try:
            yield response
        finally:
            response.close()
        return
    assert last_error is not None  # the loop ran at least once: _resolve never returns ()
    raise _transport_failure(target, last_error) from last_error


def _transport_failure(target: _Target, error: httpx.HTTPError) -> FetchFailed:
    if isinstance(error, httpx.TimeoutException):
        return FetchFailed(
            "timeout", f"{target.host} did not answer in time. Try again or use another host."
        )
    return FetchFailed(
        "unreachable",
        f"Could not connect to {target.host} ({type(error).__name__}). Check that the URL is "
        "reachable from the internet.",
    )


# --- references -------------------------------------------------------------------------------


def reference_fetch(url: str) -> bytes:
    """Download a reference image from a user-supplied URL, or raise ``FetchRefused``.

    Checks, in order: scheme, every resolved address of every hop, HTTP status, declared
    ``Content-Length`` and ``Content-Type`` (image/*), the bytes actually received against
    ``settings.REFERENCE_MAX_BYTES``, and the image magic number. The caller still opens the
    bytes with Pillow's pixel limit (``generations.services.images.reference_check``).
    """
    target = _target_for(url)
    with build_http_client(
        connect_timeout_s=FETCH_CONNECT_TIMEOUT_S, read_timeout_s=FETCH_READ_TIMEOUT_S
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            with _pinned_send(
                client, target, method="GET", headers={"Accept": "image/*"}
            ) as response:
                location = response.headers.get("location")
                if response.status_code in REDIRECT_STATUSES and location:
                    target = _redirect_target(target, location)
                    continue
                return _read_image(target, response)
    raise FetchRefused(
        "too_many_redirects",
        f"The URL redirected more than {MAX_REDIRECTS} times. Link to the image itself.",
    )


def _redirect_target(current: _Target, location: str) -> _Target:
    try:
        next_url = current.url.join(location)
    except (httpx.InvalidURL, ValueError) as error:
        raise FetchRefused(
            "invalid_redirect", f"{current.host} redirected to an invalid URL."
        ) from error
    return _target_for(str(next_url))


def _read_image(target: _Target, response: httpx.Response) -> bytes:
    if not response.is_success:
        raise FetchFailed(
            "http_error",
            f"{target.host} answered HTTP {response.status_code} for the reference image. Check "
            "that the link opens the image without logging in.",
        )
    content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not content_type.startswith("image/"):
        raise FetchRefused(
            "not_an_image",
            f"The URL answered with {content_type or 'no content type'}, not an image. Link to "
            "the image file itself (image/jpeg, image/png, image/webp …).",
        )
    limit = settings.REFERENCE_MAX_BYTES
    declared = int_from_text(response.headers.get("content-length"))
    if declared is not None and declared > limit:
        raise _too_large(limit)
    deadline = time.monotonic() + FETCH_DEADLINE_S
    received = bytearray()
    checked_magic = False
    try:
        # iter_bytes decodes any Content-Encoding, so the cap counts what we actually hold.
        for chunk in response.iter_bytes():
            received.extend(chunk)
            if len(received) > limit:
                raise _too_large(limit)
            if not checked_magic and len(received) >= _MAGIC_BYTES_NEEDED:
                _check_magic(bytes(received))
                checked_magic = True
            if time.monotonic() > deadline:
                raise FetchFailed(
                    "timeout",
                    f"{target.host} sent the image too slowly. Try again or use another host.",
                )
    except httpx.HTTPError as error:
        raise _transport_failure(target, error) from error
    if not checked_magic:
        _check_magic(bytes(received))
    return bytes(received)


def _too_large(limit: int) -> FetchRefused:
    return FetchRefused(
        "too_large",
        f"The image is larger than {limit // (1024 * 1024)} MB. Send a smaller image.",
    )


def _check_magic(head: bytes) -> None:
    is_webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if not (head.startswith(_IMAGE_MAGIC) or head.startswith(_TIFF_MAGIC) or is_webp):
        raise FetchRefused(
            "not_an_image",
            "The URL's content is not a JPEG, PNG, WebP, GIF, BMP or TIFF image, whatever its "
            "content type says. Link to the image file itself.",
        )


# --- webhooks ---------------------------------------------------------------------------------


def webhook_post(url: str, body: bytes, headers: Mapping[str, str]) -> PostResult:
    """POST ``body`` to a webhook receiver at a vetted, pinned address; no redirect followed.

    Raises ``FetchRefused`` when the URL is (now) not allowed, ``FetchFailed`` for a transport
    failure; any HTTP status, 3xx included, is returned for the caller to judge.
    """
    target = _target_for(url)
    with (
        build_http_client(
            connect_timeout_s=WEBHOOK_CONNECT_TIMEOUT_S, read_timeout_s=WEBHOOK_TIMEOUT_S
        ) as client,
        _pinned_send(client, target, method="POST", headers=headers, content=body) as response,
    ):
        head = bytearray()
        try:
            for chunk in response.iter_bytes():
                head.extend(chunk)
                if len(head) >= WEBHOOK_RESPONSE_READ_BYTES:
                    break
        except httpx.HTTPError as error:
            raise _transport_failure(target, error) from error
        return PostResult(
            status_code=response.status_code,
            body_excerpt=bytes(head[:WEBHOOK_RESPONSE_READ_BYTES]).decode("utf-8", "replace"),
        )
