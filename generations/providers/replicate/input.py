"""The `input` of a Replicate prediction: per model, and per version where an account pins one.

Pinned versions: `account.options["versions"]` maps catalog ids to Replicate version ids, e.g.
`{"seedream-4.5": "e563f451…"}` (the full 64-hex id; the adapter sends it as the create's
`version`). The `input` then follows that version's schema, which differed between releases
(§2.3): `VERSION_SCHEMAS` records what each version §2.3 names takes, keyed by the first 8
hex digits Replicate shows. What a pinned version cannot take is refused before any call,
naming the version and the fix; that refusal may fail over, since nothing was sent and another
account (unpinned, or pinned to a newer version) may serve it.
ASSUMPTION: a pinned version not in the table takes its model's newest schema read (the same
request as unpinned); Replicate's own 422 is the backstop. Every version read takes
`sequential_image_generation` and `max_images` (§2.3), so the table has no column for them.

Request decisions:
- `size`: a tier goes out as the tier with `aspect_ratio` (the request's, else
  `match_input_image` when there are references and the schema has it, else 1:1); an explicit
  WxH as `custom` with `width`/`height`, which Replicate takes only at 1024-4096 px per side:
  anything outside is refused before the call, as are tiers, aspect ratios and custom sizes a
  model's (or pinned version's) schema lacks (§2.3).
- `sequential_image_generation` and `max_images` are always sent (defaults change between
  schema versions), and so is `enhance_prompt` (Replicate's default is on, seed 001; ours is
  off, the account option `enhance_prompt` turns it on); 5.0 lite gets `output_format` (its
  default is PNG). No seed, guidance or
  watermark input exists (§9.5): asking for one is refused, not silently dropped.
- References: the caller says how each goes on the wire (`reference_value`); the adapter
  inlines small ones and uploads the rest through Replicate's Files API.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from generations.providers.errors import BadRequest, unserved_request
from generations.providers.inputs import AccountConfig, ProviderRequest, ReferenceInput

__all__ = [
    "VERSION_SCHEMAS",
    "ReplicateSchema",
    "account_option_error",
    "input_schema",
    "pinned_version",
    "prediction_input",
    "replicate_size",
]

ASPECT_RATIOS = ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "21:9")
MATCH_INPUT_IMAGE = "match_input_image"
CUSTOM_SIDE_RANGE = (1024, 4096)  # `width`/`height` with size=custom (seed 001, §9.3)
_TIER = re.compile(r"^[1-9]K$")


@dataclass(frozen=True)
class ReplicateSchema:
    """What one model version's input schema takes (§2.3). `version` is set for a version the
    account pinned, and names it in refusals."""

    tiers: tuple[str, ...]
    custom_size: bool
    max_references: int
    output_format: bool = False
    aspect_ratios: tuple[str, ...] = ASPECT_RATIOS
    match_input_image: bool = True
    version: str = ""


_SEEDREAM_4 = ReplicateSchema(tiers=("1K", "2K", "4K"), custom_size=True, max_references=10)
_SEEDREAM_4_5 = ReplicateSchema(tiers=("2K", "4K"), custom_size=True, max_references=14)
# Each model's newest schema read, used when no version is pinned.
_SCHEMAS: Mapping[str, ReplicateSchema] = {
    "seedream-4.0": _SEEDREAM_4,
    "seedream-4.5": _SEEDREAM_4_5,
    "seedream-5.0-lite": ReplicateSchema(
        tiers=("2K", "3K"), custom_size=False, max_references=14, output_format=True
    ),
}
# The versions §2.3 names, by the first 8 hex digits of their ids. 4.0's two versions share a
# schema; 4.5's changed twice. (`disable_safety_checker`, new in 4.5 e563f451, is never sent.)
VERSION_SCHEMAS: Mapping[str, ReplicateSchema] = {
    "e6cff243": _SEEDREAM_4,
    "cf7d4319": _SEEDREAM_4,
    # 4.5 beta: 2K only, square only (ASSUMPTION: `aspect_ratio` exists with the one value).
    "fffbf9ea": ReplicateSchema(
        tiers=("2K",),
        custom_size=False,
        max_references=14,
        aspect_ratios=("1:1",),
        match_input_image=False,
    ),
    "e563f451": ReplicateSchema(tiers=("2K", "4K"), custom_size=False, max_references=14),
    "9fe3b828": _SEEDREAM_4_5,
}


def pinned_version(account: AccountConfig, catalog_id: str) -> str:
    """The Replicate version id the account pins `catalog_id` to, or "" (the model's latest)."""
    versions = account.options.get("versions") or {}
    if not isinstance(versions, Mapping):
        raise account_option_error(
            f"the account option versions must map catalog ids to version ids, got {versions!r}"
        )
    version = versions.get(catalog_id) or ""
    if not isinstance(version, str):
        raise account_option_error(
            f"the account option versions gives {catalog_id} a {type(version).__name__}, "
            "not a version id"
        )
    return version.strip()


def input_schema(catalog_id: str, version: str) -> ReplicateSchema:
    """The schema a request for `catalog_id` must follow: the pinned version's, when known."""
    if version:
        for prefix, schema in VERSION_SCHEMAS.items():
            if version.startswith(prefix):
                return replace(schema, version=version)
    return _SCHEMAS.get(catalog_id, _SEEDREAM_4)


def account_option_error(problem: str) -> BadRequest:
    """A Replicate account whose options cannot be read: nothing was sent, so another account
    may serve the request; staff must fix this one."""
    error = BadRequest(message=f"{problem}; fix it in the Replicate account's options")
    error.failover_safe = True
    return error


def prediction_input(
    request: ProviderRequest,
    *,
    version: str = "",
    enhance_prompt: bool = False,
    reference_value: Callable[[ReferenceInput], str],
) -> dict[str, Any]:
    """The prediction's `input` for `request`, following the pinned `version`'s schema
    when there is one; `BadRequest` for what Replicate (or that version) cannot do.

    `enhance_prompt` is always sent: Replicate's default is on (seed 001), ours off.
    `reference_value` makes each reference's `image_input` entry; it is called only once every
    refusal has been made, so an upload it does is never wasted on a refused request.
    """
    schema = input_schema(request.model, version)
    if request.seed is not None or request.guidance_scale is not None:
        raise BadRequest(message="Replicate's Seedream models take no seed or guidance scale")
    if request.watermark:
        raise BadRequest(message="Replicate's Seedream models take no watermark option")
    if len(request.references) > schema.max_references:
        raise schema_refusal(
            request,
            schema,
            f"takes at most {schema.max_references} reference images; "
            f"got {len(request.references)}",
        )
    if request.output_format != "jpeg" and not schema.output_format:
        raise schema_refusal(request, schema, "returns JPEG images only")
    payload: dict[str, Any] = {"prompt": request.prompt, **replicate_size(request, schema)}
    if request.references:
        payload["image_input"] = [reference_value(ref) for ref in request.references]
    payload["sequential_image_generation"] = "auto" if request.max_images > 1 else "disabled"
    payload["max_images"] = request.max_images
    payload["enhance_prompt"] = enhance_prompt
    if schema.output_format:
        payload["output_format"] = request.output_format
    return payload


def schema_refusal(request: ProviderRequest, schema: ReplicateSchema, problem: str) -> BadRequest:
    """`BadRequest` for an input the schema lacks, before any call. It may fail over: nothing
    was sent, and another account may serve the request (4K on 5.0 lite at Siraya, say).

    When the lack is a pinned version's, the message names the version and the fix.
    """
    if not schema.version:
        return unserved_request(f"Replicate's {request.model} {problem}")
    error = BadRequest(
        message=f"Replicate's {request.model} version {schema.version[:8]}, which this account "
        f"pins, {problem}. Change the request, or have staff pin a version that takes it "
        "(the account option versions)"
    )
    error.failover_safe = True
    return error


def replicate_size(request: ProviderRequest, schema: ReplicateSchema) -> dict[str, Any]:
    """`size` (+ `aspect_ratio`, or `width`/`height` for custom) for `request`."""
    if _TIER.match(request.size):
        if request.size not in schema.tiers:
            raise schema_refusal(
                request, schema, f"takes the sizes {', '.join(schema.tiers)}; not {request.size}"
            )
        if not request.aspect_ratio:
            return {"size": request.size, "aspect_ratio": _default_aspect(request, schema)}
        aspect = request.aspect_ratio
        if aspect not in schema.aspect_ratios:
            raise schema_refusal(
                request,
                schema,
                f"takes the aspect ratios {', '.join(schema.aspect_ratios)}; not {aspect}",
            )
        return {"size": request.size, "aspect_ratio": aspect}
    if not schema.custom_size or "x" not in request.size:
        raise schema_refusal(
            request, schema, f"takes only the sizes {', '.join(schema.tiers)}; not {request.size}"
        )
    low, high = CUSTOM_SIDE_RANGE
    if not (low <= request.width <= high and low <= request.height <= high):
        raise BadRequest(
            message=f"Replicate takes custom sizes of {low}-{high} px per side; "
            f"{request.width}x{request.height} is outside that"
        )
    return {"size": "custom", "width": request.width, "height": request.height}


def _default_aspect(request: ProviderRequest, schema: ReplicateSchema) -> str:
    # Replicate's own default is match_input_image, which needs an input image to match.
    if request.references and schema.match_input_image:
        return MATCH_INPUT_IMAGE
    return "1:1"
