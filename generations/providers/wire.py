"""What several adapters do alike on the wire: choose the provider's model id, deliver a
reference image the way the provider documents, mark errors after the provider took the call,
read image headers and JSON replies. One place for each, so adapters differ only where their
providers do."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

from generations.providers.base import BaseAdapter
from generations.providers.contract import ProviderImage, ProviderImageFailure
from generations.providers.errors import BadRequest, BadResponse, ProviderError
from generations.providers.http import redact, request_id_from
from generations.providers.inputs import AccountConfig, ProviderRequest, ReferenceInput

__all__ = [
    "FLAKY_DOWNLOAD_PAUSE_S",
    "ReferenceRoute",
    "accepted_call",
    "deliver_reference",
    "fetch_image",
    "image_facts",
    "provider_model_id",
    "reference_wire_value",
    "reply_json_object",
    "wants_watermark",
]


def provider_model_id(
    account: AccountConfig, catalog_id: str, defaults: Mapping[str, str], provider: str
) -> str:
    """The provider's model id for a catalog id: the account's `model_ids` override, else the
    default; `BadRequest` (before any call) when the provider does not serve the model."""
    overrides = account.options.get("model_ids") or {}
    if not isinstance(overrides, Mapping):
        raise ValueError(f"option model_ids must map catalog ids to model ids, got {overrides!r}")
    model_id = overrides.get(catalog_id) or defaults.get(catalog_id)
    if not model_id:
        served = ", ".join(sorted({*defaults, *overrides}))
        raise BadRequest(message=f"{provider} does not serve {catalog_id}; it serves {served}")
    return str(model_id)


def reference_wire_value(reference: ReferenceInput) -> str:
    """A reference as Ark (and Ace Data Cloud, relaying it) takes it: its URL, or a
    `data:image/<fmt>;base64,` URI with the format in lower case, up to 10 MB (BP-API), else
    our signed link."""
    return deliver_reference(reference, ARK_REFERENCE_ROUTE)


def reference_data_uri(reference: ReferenceInput) -> str:
    """The stored bytes as a `data:image/<fmt>;base64,` URI, the format in lower case."""
    kind, _, subtype = reference.mime.lower().partition("/")
    if kind != "image" or not subtype or reference.content is None:
        raise BadRequest(message=f"a reference image has an unusable type {reference.mime!r}")
    encoded = base64.b64encode(reference.content).decode("ascii")
    return f"data:image/{subtype};base64,{encoded}"


@dataclass(frozen=True)
class ReferenceRoute:
    """How one provider documents taking a reference image.

    `inline_below_bytes`: stored bytes smaller than this go inline as a data URI (0: never).
    `upload`: the provider's own storage, called with a reference that has bytes; returns what
    goes on the wire (a URL, or an asset id). `takes_urls`: whether a URL may go on the wire.
    """

    provider: str
    inline_below_bytes: int = 0
    upload: Callable[[ReferenceInput], str] | None = None
    takes_urls: bool = True

    @property
    def links_only(self) -> bool:
        """Stored references reach this provider only as our links, which it must fetch."""
        return self.takes_urls and self.upload is None and self.inline_below_bytes <= 0


# Ark: "http(s) URL or data:image/<fmt>;base64,<b64>", at most 10 MB per image (BP-API).
ARK_REFERENCE_ROUTE = ReferenceRoute(provider="Ark", inline_below_bytes=10 * 1024 * 1024 + 1)


def deliver_reference(reference: ReferenceInput, route: ReferenceRoute) -> str:
    """What goes on the wire for `reference`, in this order of preference:

    1. a URL reference as it is, where the provider takes URLs (it is already fetchable);
    2. stored bytes inline, where the provider documents data URIs and they are under its limit;
    3. the provider's own upload, where it has one (a URL reference is handed over too: a
       provider that takes only its own assets needs it copied);
    4. our signed link to the stored file (`reference.link`), for providers that fetch URLs.

    `BadRequest` (failover-safe: nothing was sent) when none applies, e.g. a URL-only provider
    and a reference without a link.
    """
    if reference.url is not None and route.takes_urls:
        return reference.url
    content = reference.content
    if content is not None and len(content) < route.inline_below_bytes:
        return reference_data_uri(reference)
    if route.upload is not None:
        return route.upload(reference)
    if reference.link is not None and route.takes_urls:
        return reference.link
    if route.links_only:
        problem = f"{route.provider} takes reference images only as links it can fetch"
    else:
        problem = (
            f"{route.provider} takes reference images inline only under "
            f"{route.inline_below_bytes:,} bytes"
        )
    error = BadRequest(message=f"{problem}, and this reference has no link to our storage")
    error.failover_safe = True
    raise error


def wants_watermark(account: AccountConfig, request: ProviderRequest) -> bool:
    """A request asking for the mark, or an account that must always show it."""
    return bool(request.watermark or account.options.get("watermark", False))


@contextmanager
def accepted_call() -> Iterator[None]:
    """Mark errors raised after the provider accepted the call as not failover-safe.

    A download that cannot connect is `Unavailable(before_accepted=True)` by the transport
    rules, but by then the provider has made (and billed) the images: sending the request to
    another account would pay twice.
    """
    try:
        yield
    except ProviderError as error:
        error.failover_safe = False
        raise


def image_facts(content: bytes, *, request_id: str | None = None) -> tuple[int, int, str | None]:
    """Width, height and mime from the image header (Pillow decodes no pixels here)."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            return image.width, image.height, Image.MIME.get(image.format or "")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BadResponse(
            message="the provider sent image bytes that are not a readable image",
            request_id=request_id,
        ) from exc


FLAKY_DOWNLOAD_PAUSE_S = 0.5  # CDNs may publish a file a moment after the reply names it


def fetch_image(
    adapter: BaseAdapter, url: str, *, index: int, raise_transport_errors: bool = False
) -> ProviderImage | ProviderImageFailure:
    """Download one output now (provider links expire): the image, or this image's failure.

    A link answering 404 is tried once more after `FLAKY_DOWNLOAD_PAUSE_S`, for files published
    a moment late; a link that stays gone, is not an image or is too large is this image's
    `ProviderImageFailure`, never the whole call's: the provider made (and billed) the others.
    A connection that fails or times out is raised when `raise_transport_errors` (Replicate,
    fal: the poll reports not-done and the next poll downloads again), else it is this image's
    failure too.
    """
    try:
        try:
            content = adapter.download_image(url)
        except BadResponse as error:
            if error.http_status != 404:
                raise
            adapter.sleep(FLAKY_DOWNLOAD_PAUSE_S)
            content = adapter.download_image(url)
        width, height, mime = image_facts(content)
    except ProviderError as error:
        if raise_transport_errors and not isinstance(error, BadResponse):
            raise
        return ProviderImageFailure(index, error.code, redact(error.message, adapter.secrets))
    return ProviderImage(
        index=index, content=content, url=url, width=width, height=height, mime=mime
    )


def reply_json_object(
    response: httpx.Response, *, secrets: tuple[str, ...] = ()
) -> Mapping[str, Any]:
    """The reply's JSON object, or `BadResponse` quoting the start of whatever came instead."""
    try:
        payload = response.json()
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both are
        raise BadResponse(
            message=redact(f"the provider's reply is not JSON: {response.text[:120]!r}", secrets),
            http_status=response.status_code,
            request_id=request_id_from(response),
        ) from exc
    if not isinstance(payload, Mapping):
        raise BadResponse(
            message="the provider's reply is not a JSON object",
            http_status=response.status_code,
            request_id=request_id_from(response),
        )
    return payload
