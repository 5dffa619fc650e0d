"""What an adapter is given: the request, its reference images, and the account it calls
through. The Django side builds them (a `ProviderRequest` from a validated generation, an
`AccountConfig` from a `ProviderAccount` row); nothing here imports Django."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OUTPUT_FORMATS", "AccountConfig", "ProviderRequest", "ReferenceInput"]

OUTPUT_FORMATS = ("jpeg", "png")


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
        if (self.content is None) == (self.url is None):
            raise ValueError("ReferenceInput needs exactly one of content or url")


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
