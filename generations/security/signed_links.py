"""Signed, expiring links to output images, for clients without a session (API, webhooks).

Outputs are private: pages serve them through session-checked views. A link handed to an API
client instead carries its own proof: ``/media/o/<id>/<variant>?exp=<unix>&sig=<hmac>``, where
the HMAC (keyed by ``SECRET_KEY``, salted for this purpose) binds the output id, the variant and
the expiry, so changing any of them, or reusing a signature for another user's image, fails.
Links verify against ``SECRET_KEY_FALLBACKS`` too, so rotating the key does not break links
already handed out before they expire.

When the default storage is S3 (django-storages), the storage's own presigned URL is returned
instead and the bucket enforces the expiry.

Reference images get the same kind of link, ``/media/r/<id>?exp=<unix>&sig=<hmac>`` (its own
salt, so an output's signature never opens a reference): providers that take references only
as URLs fetch them from there (``reference_link``).
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import HttpRequest
from django.urls import reverse
from django.utils.crypto import salted_hmac

from generations.models import OutputImage, ReferenceImage
from generations.security.fetching import address_refusal
from studio_core.parsing import int_from_text

__all__ = [
    "VARIANTS",
    "LinkCheck",
    "absolute_url",
    "link_check",
    "output_url",
    "reference_link",
    "reference_link_check",
    "reference_links_unreachable",
    "thumbnail_url",
]

VARIANT_FULL = "full"
VARIANT_THUMBNAIL = "thumbnail"
VARIANTS = (VARIANT_FULL, VARIANT_THUMBNAIL)
_SALT = "generations.security.signed_links"
_REFERENCE_SALT = "generations.security.signed_links.reference"
# Names that resolve only inside a local network (RFC 6762 .local, RFC 8375 .home.arpa and
# common private conventions).
_LOCAL_ONLY_SUFFIXES = frozenset({"local", "internal", "lan", "home", "arpa", "test", "invalid"})


@dataclass(frozen=True)
class LinkCheck:
    """The verdict on a presented link; ``remaining_s`` is how long it stays valid."""

    valid: bool
    remaining_s: int = 0
    problem: str = ""


def output_url(output: OutputImage, *, now: float | None = None) -> str:
    """A link to the full image valid for ``settings.MEDIA_LINK_TTL_S`` seconds.

    Relative (``/media/o/…``) on local storage; absolute and presigned on S3. Pass it through
    ``absolute_url`` where a client outside the browser needs a full URL.
    """
    return _signed_url(output, VARIANT_FULL, now=now)


def thumbnail_url(output: OutputImage, *, now: float | None = None) -> str:
    """Like ``output_url``, for the JPEG thumbnail."""
    return _signed_url(output, VARIANT_THUMBNAIL, now=now)


def reference_link(reference: ReferenceImage, *, now: float | None = None) -> str:
    """An absolute link to a stored reference image, valid ``settings.MEDIA_LINK_TTL_S``.

    For a provider to fetch, from a worker (no request is being answered): on
    ``settings.PUBLIC_BASE_URL``, or S3's presigned URL.
    """
    ttl = settings.MEDIA_LINK_TTL_S
    if _storage_presigns():
        # django-storages' S3Storage.url(name, parameters=None, expire=None, http_method=None)
        return default_storage.url(reference.file.name, expire=ttl)  # type: ignore[call-arg]
    expires = int(time.time() if now is None else now) + ttl
    path = reverse("media-reference-signed", kwargs={"reference_id": reference.pk})
    query = urlencode({"exp": expires, "sig": _reference_signature(reference.pk, expires)})
    return absolute_url(f"{path}?{query}", request=None)


def reference_links_unreachable() -> str:
    """Why a provider on the internet could not fetch our reference links, or "".

    On S3 the links are the bucket's own. Otherwise they are on ``PUBLIC_BASE_URL``, which must
    not name a loopback, private or otherwise non-public address, nor a name only a local
    network resolves. Names are not resolved here (the check must not depend on DNS).
    """
    if _storage_presigns():
        return ""
    host = urlsplit(settings.PUBLIC_BASE_URL).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        reason = address_refusal(address)
        return f"a {reason} address" if reason else ""
    name = host.lower().rstrip(".")
    if not name or name == "localhost" or name.endswith(".localhost"):
        return "a loopback address"
    if "." not in name or name.rsplit(".", 1)[1] in _LOCAL_ONLY_SUFFIXES:
        return "a name only a local network resolves"
    return ""


def reference_link_check(*, reference_id: int, exp: str, sig: str, now: float) -> LinkCheck:
    """``link_check`` for a reference link."""
    return _check(
        exp,
        sig,
        now=now,
        sign=lambda expires, secret: _reference_signature(reference_id, expires, secret=secret),
    )


def absolute_url(url: str, *, request: HttpRequest | None) -> str:
    """``url`` made absolute for a client outside the browser; already-absolute URLs (S3's
    presigned ones) pass unchanged.

    In a reply, pass the ``request`` answered: the link then names the scheme and host the client
    reached this server by (its ``Host``, already checked against ``ALLOWED_HOSTS``, or a trusted
    proxy's ``X-Forwarded-Host``), whatever port or name that was. Only where no request is being
    answered (a worker sending a webhook) pass ``None``: the link is then on
    ``settings.PUBLIC_BASE_URL``.
    """
    if request is not None:
        return request.build_absolute_uri(url)
    return urljoin(settings.PUBLIC_BASE_URL.rstrip("/") + "/", url)


def link_check(*, output_id: int, variant: str, exp: str, sig: str, now: float) -> LinkCheck:
    """Verify a presented link in constant time; an expired link is reported after the
    signature check, so a forged expiry never learns more than a tampered one."""
    if variant not in VARIANTS:
        return LinkCheck(valid=False, problem="This link is not valid.")
    return _check(
        exp,
        sig,
        now=now,
        sign=lambda expires, secret: _signature(output_id, variant, expires, secret=secret),
    )


def _check(exp: str, sig: str, *, now: float, sign: Callable[[int, str], str]) -> LinkCheck:
    expires = int_from_text(exp)
    # A signature is URL-safe base64, so ASCII; compare_digest refuses (TypeError) to compare
    # other text, which answered 500.
    if expires is None or not sig or not sig.isascii():
        return LinkCheck(valid=False, problem="This link is not valid.")
    signature_ok = any(
        hmac.compare_digest(sig, sign(expires, secret))
        for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
    )
    if not signature_ok:
        return LinkCheck(valid=False, problem="This link is not valid.")
    remaining = expires - int(now)
    if remaining <= 0:
        return LinkCheck(valid=False, problem="This link has expired. Ask the API for a new one.")
    return LinkCheck(valid=True, remaining_s=remaining)


def _signed_url(output: OutputImage, variant: str, *, now: float | None) -> str:
    ttl = settings.MEDIA_LINK_TTL_S
    if _storage_presigns():
        name = output.thumbnail.name if variant == VARIANT_THUMBNAIL else output.file.name
        # django-storages' S3Storage.url(name, parameters=None, expire=None, http_method=None)
        return default_storage.url(name, expire=ttl)  # type: ignore[call-arg]
    expires = int(time.time() if now is None else now) + ttl
    path = reverse("media-signed", kwargs={"output_id": output.pk, "variant": variant})
    query = urlencode({"exp": expires, "sig": _signature(output.pk, variant, expires)})
    return f"{path}?{query}"


def _storage_presigns() -> bool:
    # S3Storage (and its subclasses) keep a boto3 bucket; FileSystemStorage does not. Checked on
    # each call because tests and settings overrides swap the default storage.
    return hasattr(default_storage, "bucket") and getattr(
        default_storage, "querystring_auth", False
    )


def _signature(output_id: int, variant: str, expires: int, *, secret: str | None = None) -> str:
    return _sign(_SALT, f"{output_id}:{variant}:{expires}", secret=secret)


def _reference_signature(reference_id: int, expires: int, *, secret: str | None = None) -> str:
    return _sign(_REFERENCE_SALT, f"{reference_id}:{expires}", secret=secret)


def _sign(salt: str, message: str, *, secret: str | None) -> str:
    digest = salted_hmac(salt, message, secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
