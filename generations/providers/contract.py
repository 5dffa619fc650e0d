"""What every provider adapter takes and gives back, independent of any provider's dialect.

The Django side builds a `ProviderRequest` from a validated generation and an `AccountConfig`
from a `ProviderAccount` row; an adapter turns them into one provider's wire format and yields
`ProviderOutcome`s back. Nothing here imports Django: adapters are plain Python, testable against
the in-process emulators.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeAlias

import httpx

from generations.providers.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    ProviderTimeout,
    Unavailable,
)
from generations.providers.http import (
    build_http_client,
    error_from_response,
    map_transport_errors,
)

# Largest output image copied from a provider link (Seedream 4K JPEGs are ~5-15 MB).
DOWNLOAD_MAX_BYTES = 50 * 1024 * 1024

__all__ = [
    "OUTPUT_FORMATS",
    "AccountConfig",
    "BaseAdapter",
    "ProviderAdapter",
    "ProviderImage",
    "ProviderImageFailure",
    "ProviderOutcome",
    "ProviderRequest",
    "ProviderUsage",
    "ReferenceInput",
]

OUTPUT_FORMATS = ("jpeg", "png")


def _require_exactly_one(owner: str, content: bytes | None, url: str | None) -> None:
    if (content is None) == (url is None):
        raise ValueError(f"{owner} needs exactly one of content or url")


@dataclass(frozen=True, slots=True)
class ReferenceInput:
    """One reference image: inline bytes (from our storage) or a URL the provider can fetch.

    `link` goes with stored bytes: a signed, expiring link to the same file in our storage, for
    providers that take references only as URLs (`wire.deliver_reference` chooses per provider).
    """

    # Image bytes would flood logs and tracebacks; the mime and size say enough.
    content: bytes | None = field(repr=False)
    url: str | None
    mime: str
    link: str | None = None

    def __post_init__(self) -> None:
        _require_exactly_one("ReferenceInput", self.content, self.url)


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    """One generation call, already validated against the catalog.

    `model` is the catalog id ("seedream-4.0"); adapters map it to their own ids. `size` is the
    normalized form: a tier ("2K"), explicit "WIDTHxHEIGHT", or "adaptive"; `aspect_ratio` is ""
    unless `size` is a tier. `width`/`height` are always the concrete pixels we resolved, for
    providers that need numbers and for the local renderer.
    """

    model: str
    prompt: str
    size: str
    aspect_ratio: str
    width: int
    height: int
    max_images: int = 1
    references: tuple[ReferenceInput, ...] = ()
    seed: int | None = None
    guidance_scale: float | None = None
    watermark: bool = False
    output_format: str = "jpeg"
    stream: bool = False
    # How long this account's recent jobs took (median seconds; None: no recent jobs). A job
    # adapter may hold its submit open for a job this short (Replicate's `Prefer: wait`).
    typical_job_s: float | None = None

    def __post_init__(self) -> None:
        # Cheap invariants only; the catalog owns the real per-model rules.
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"width and height must be positive, got {self.width}x{self.height}")
        if self.max_images < 1:
            raise ValueError(f"max_images must be at least 1, got {self.max_images}")
        if self.output_format not in OUTPUT_FORMATS:
            raise ValueError(
                f"output_format must be one of {', '.join(OUTPUT_FORMATS)}, "
                f"got {self.output_format!r}"
            )


@dataclass(frozen=True, slots=True)
class ProviderImage:
    """One delivered image, as bytes or as a (usually short-lived) URL to download at once."""

    index: int
    content: bytes | None = field(repr=False)
    url: str | None
    width: int | None
    height: int | None
    mime: str | None

    def __post_init__(self) -> None:
        # Adapters hand on the bytes (downloaded at once: provider links expire) and keep the
        # original link for provenance, so both may be set; one of them must be.
        if self.content is None and self.url is None:
            raise ValueError("ProviderImage needs its bytes (content) or a url")


@dataclass(frozen=True, slots=True)
class ProviderImageFailure:
    """One image of a group failed (e.g. blocked by the output content filter); others may not.

    `code` uses the same stable vocabulary as `ProviderError.code` ("content_refused", ...).
    """

    index: int
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ProviderUsage:
    """What the provider says it generated (and bills); always the last outcome of a call."""

    generated_images: int
    output_tokens: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


ProviderOutcome: TypeAlias = ProviderImage | ProviderImageFailure | ProviderUsage


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """What an adapter may know about the provider account it calls through."""

    kind: str
    label: str
    base_url: str = ""
    # Never in a repr: these objects end up in logs, tracebacks and error reports.
    api_key: str = field(default="", repr=False)
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0
    options: Mapping[str, Any] = field(default_factory=dict)


class ProviderAdapter(Protocol):
    """The shape the router and `generation_run` rely on."""

    kind: ClassVar[str]

    def __init__(
        self, account: AccountConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None: ...

    def generate(self, request: ProviderRequest) -> Iterator[ProviderOutcome]:
        """Yield each image (or per-image failure) as soon as it is available, then exactly one
        `ProviderUsage` last. Raise `ProviderError` subclasses for whole-call failures.

        Adapters are generators, so nothing is sent until the first `next()`; consumers must
        drain (or close) the iterator to release the HTTP client.
        """
        ...


class BaseAdapter(ABC):
    """Common base of every adapter: holds the account and the (test-injectable) transport."""

    kind: ClassVar[str] = ""
    # The provider's own API root, used when the account names none.
    default_base_url: ClassVar[str] = ""
    # How the account's key goes in the Authorization header ("Bearer <key>", "Key <key>").
    auth_scheme: ClassVar[str] = "Bearer"
    # True where stored references reach the provider only as links to our storage, which it
    # fetches: our links must then be reachable from the internet (the account check says so).
    fetches_reference_links: ClassVar[bool] = False
    # The least a call may read for, whatever the account says: a provider that holds its
    # answer until the images exist needs longer than the usual account default.
    min_read_timeout_s: ClassVar[float] = 0.0

    def __init__(
        self, account: AccountConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.account = account
        self.transport = transport

    @classmethod
    def adapter_class_for(cls, account: AccountConfig) -> type[BaseAdapter]:
        """The class that serves `account`: this one, unless a provider runs one of its modes
        through another executor (Ace Data Cloud's async mode is a job)."""
        return cls

    @abstractmethod
    def generate(self, request: ProviderRequest) -> Iterator[ProviderOutcome]:
        """See `ProviderAdapter.generate`."""

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)  # an attribute so tests replace it

    @property
    def read_timeout_s(self) -> float:
        return max(self.account.read_timeout_s, self.min_read_timeout_s)

    @property
    def base_url(self) -> str:
        return (self.account.base_url or self.default_base_url).rstrip("/")

    def auth_headers(self) -> dict[str, str]:
        """The Authorization header for the account's key; `AuthError` when it has none."""
        if not self.account.api_key:
            raise AuthError(message=f"the {self.account.label} account has no API key")
        return {"Authorization": f"{self.auth_scheme} {self.account.api_key}"}

    def http_client(self, *, headers: Mapping[str, str] | None = None) -> httpx.Client:
        """A client for this account through the one factory, with the account's timeouts."""
        return build_http_client(
            base_url=self.account.base_url,
            headers=headers,
            connect_timeout_s=self.account.connect_timeout_s,
            read_timeout_s=self.read_timeout_s,
            transport=self.transport,
        )

    def check(self) -> str:
        """Make the cheapest call that proves the credentials work; returns what it showed.

        Raises ``AuthError`` for credentials the provider refuses. Adapters override this.
        """
        raise BadRequest(message=f"the {self.kind} adapter has no credential check")

    def check_with_empty_request(
        self, url: str, *, headers: Mapping[str, str] | None = None
    ) -> str:
        """POST an empty body: providers check the key before the body, so 401/403 means the key
        is refused and 400/422 that it was accepted. Nothing is generated or billed."""
        with (
            self.http_client(headers=headers or self.auth_headers()) as client,
            map_transport_errors(secrets=self.secrets),
        ):
            response = client.post(url, json={})
        if response.status_code in (400, 422):
            return "The key was accepted (an empty test request was refused, as expected)."
        raise error_from_response(
            response,
            message=f"the test request answered HTTP {response.status_code}",
            secrets=self.secrets,
        )

    def download_image(self, url: str, *, max_bytes: int = DOWNLOAD_MAX_BYTES) -> bytes:
        """Copy a provider-hosted image now (its link expires), within a size cap.

        Goes through this account's transport, so emulators serve their own files in tests.
        Raises ``BadResponse`` for an expired/removed link, a non-http(s) URL or an oversize file.
        """
        if not url.startswith(("https://", "http://")):
            raise BadResponse(message=f"the provider returned an unusable image URL: {url[:80]!r}")
        try:
            return self._download(url, max_bytes=max_bytes)
        except (Unavailable, ProviderTimeout) as error:
            # The provider already took (and billed) the call that made this image: a failed
            # download must not send the generation to another account.
            raise type(error)(
                message=f"the image could not be downloaded: {error.message}",
                http_status=error.http_status,
                before_accepted=False,
            ) from error

    def _download(self, url: str, *, max_bytes: int) -> bytes:
        chunks: list[bytes] = []
        received = 0
        with (
            build_http_client(
                connect_timeout_s=self.account.connect_timeout_s,
                read_timeout_s=self.account.read_timeout_s,
                transport=self.transport,
            ) as client,
            map_transport_errors(secrets=self.secrets),
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise BadResponse(
                    message=f"the provider's image link answered HTTP {response.status_code} "
                    "(expired or removed)",
                    http_status=response.status_code,
                )
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received > max_bytes:
                    raise BadResponse(
                        message=f"the provider's image is larger than {max_bytes:,} bytes"
                    )
                chunks.append(chunk)
        return b"".join(chunks)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values to redact from any error text (pass to `map_transport_errors` and friends)."""
        return (self.account.api_key,) if self.account.api_key else ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} kind={self.kind!r} label={self.account.label!r}>"
