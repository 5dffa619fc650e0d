"""The base every adapter stands on: its account, its (test-injectable) transport, the
account's client, timeouts and Authorization header, the credential check and the download of
a provider's image links. Both executors (calls.py, jobs.py) build on it; providers name only
their default URL, auth scheme and what their mode needs."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import httpx

from generations.providers.contract import ProviderImageFailure, ProviderOutcome, ProviderUsage
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
from generations.providers.inputs import AccountConfig, ProviderRequest

__all__ = ["DOWNLOAD_MAX_BYTES", "BaseAdapter", "ImageBytes", "image_link"]

# Largest output image copied from a provider link (Seedream 4K JPEGs are ~5-15 MB).
DOWNLOAD_MAX_BYTES = 50 * 1024 * 1024


def image_link(url: str) -> str:
    """`url` if it is one we download from; `BadResponse` for anything but http(s)."""
    if not url.startswith(("https://", "http://")):
        raise BadResponse(message=f"the provider returned an unusable image URL: {url[:80]!r}")
    return url


class ImageBytes:
    """One image link's reply as its chunks arrive (blocking or on the event loop alike):
    `BadResponse` for a link that is gone (any status but 200) or a file over `max_bytes`."""

    def __init__(self, response: httpx.Response, *, max_bytes: int = DOWNLOAD_MAX_BYTES) -> None:
        if response.status_code != 200:
            raise BadResponse(
                message=f"the provider's image link answered HTTP {response.status_code} "
                "(expired or removed)",
                http_status=response.status_code,
            )
        self.max_bytes, self.received, self.chunks = max_bytes, 0, list[bytes]()

    def add(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self.max_bytes:
            raise BadResponse(
                message=f"the provider's image is larger than {self.max_bytes:,} bytes"
            )
        self.chunks.append(chunk)

    @property
    def content(self) -> bytes:
        return b"".join(self.chunks)


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
        try:
            return self._download(image_link(url), max_bytes=max_bytes)
        except (Unavailable, ProviderTimeout) as error:
            # The provider already took (and billed) the call that made this image: a failed
            # download must not send the generation to another account.
            raise type(error)(
                message=f"the image could not be downloaded: {error.message}",
                http_status=error.http_status,
                before_accepted=False,
            ) from error

    def _download(self, url: str, *, max_bytes: int) -> bytes:
        with (
            build_http_client(
                connect_timeout_s=self.account.connect_timeout_s,
                read_timeout_s=self.account.read_timeout_s,
                transport=self.transport,
            ) as client,
            map_transport_errors(secrets=self.secrets),
            client.stream("GET", url) as response,
        ):
            image = ImageBytes(response, max_bytes=max_bytes)
            for chunk in response.iter_bytes():
                image.add(chunk)
        return image.content

    def usage(
        self,
        items: Iterable[object],
        *,
        billed: int | None = None,
        output_tokens: int | None = None,
        **facts: Any,
    ) -> ProviderUsage:
        """The call's usage, its last outcome: the images the provider made and bills
        (``billed``; by default those among ``items`` that are not failures — delivered images
        or links still to download), and this provider's ``facts`` under its kind."""
        if billed is None:
            billed = sum(
                not isinstance(item, ProviderImageFailure | ProviderUsage) for item in items
            )
        return ProviderUsage(
            generated_images=billed,
            output_tokens=output_tokens,
            raw={"provider": self.kind, **facts},
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values to redact from any error text (pass to `map_transport_errors` and friends)."""
        return (self.account.api_key,) if self.account.api_key else ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} kind={self.kind!r} label={self.account.label!r}>"
