"""The provider adapter interface, in one screen.

An adapter takes a `ProviderRequest` and the `AccountConfig` it calls through (inputs.py) and
gives back `ProviderOutcome`s. It is one package, `providers/<kind>/`, on one of two executors:
`calls.CallAdapter` for providers that answer in the response (`call_for`, `reader`,
`error_from_reply`), `jobs.JobAdapter` for job providers (`submit`, `poll`, `cancel` and its
classification marks). Both stand on `base.BaseAdapter` (account, key, timeouts, downloads).

An adapter must: refuse what its provider cannot do with `BadRequest` before anything is sent;
raise only the `ProviderError` tree (errors.py), failover-safe only where the provider surely
did not take the call; give each image (or `ProviderImageFailure`) as it arrives, then exactly
one `ProviderUsage`; keep credentials out of every message.

An adapter must not: build its own HTTP client, set timeouts or retry (the executors do), hold
a thread while a provider works (a job is polled by re-scheduled tasks, a call awaited on the
worker's event loop), or import Django.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeAlias

import httpx

from generations.providers.inputs import AccountConfig, ProviderRequest

__all__ = [
    "ProviderAdapter",
    "ProviderImage",
    "ProviderImageFailure",
    "ProviderOutcome",
    "ProviderUsage",
]


@dataclass(frozen=True, slots=True)
class ProviderImage:
    """One delivered image: its bytes (downloaded at once: provider links expire) and, for
    provenance, the link it came from; one of the two at least."""

    index: int
    content: bytes | None = field(repr=False)
    url: str | None
    width: int | None
    height: int | None
    mime: str | None

    def __post_init__(self) -> None:
        if self.content is None and self.url is None:
            raise ValueError("ProviderImage needs its bytes (content) or a url")


@dataclass(frozen=True, slots=True)
class ProviderImageFailure:
    """One image of a group failed (its `code` in `ProviderError.code`'s vocabulary)."""

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


class ProviderAdapter(Protocol):
    """The shape the router and `generation_run` rely on."""

    kind: ClassVar[str]

    def __init__(
        self, account: AccountConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None: ...

    def generate(self, request: ProviderRequest) -> Iterator[ProviderOutcome]:
        """The whole call in the caller's thread (tests, scripts, `check`): a generator, so
        nothing is sent before the first `next()`; drain or close it to free the client."""
        ...
