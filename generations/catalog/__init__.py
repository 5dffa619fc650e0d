"""The model catalog: what each Seedream model accepts, and validation of a request against it.

Pure Python, no Django. Every caller (compose form, REST API, OpenAI-compatible API) turns its
input into a `GenerationSpec` and calls `validate_spec` before any credit moves; the
`ResolvedSpec` it returns is what a generation stores and what provider adapters read.
`SpecError.errors` maps `GenerationSpec` field names to messages that name the rule and its
numbers, so every interface can show them as field errors unchanged.

Seed decision: a seed sent to a model that does not take one (Seedream 4.0, 4.5 and 5.0 lite)
is a validation error, not silently dropped. Ark ignores it on those models and Replicate and
Scenario have no seed input at all (providers.md §9.5), so accepting it would promise a
reproducibility we cannot deliver. The message names the models that do take a seed. A seed of
-1 means "random" on Ark, so it is normalized to None.

Numbers come from providers.md (§1.3 request fields, §1.4 size rules, §9.3-9.5 cross-provider
limits) and, for Dreamina 3.1, Scenario's Bytedance model table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from generations.catalog.sizes import (
    ADAPTIVE_SIZE,
    ASPECT_RATIOS,
    COMMON_ASPECT_RATIOS,
    DEFAULT_ASPECT_RATIO,
    TIER_SIZES_BY_MODEL,
    Errors,
    add_error,
    check_image_counts,
    format_count,
    format_size,
    keyword_dimensions,
    resolve_size,
    size_help,
    size_keyword,
    size_rule,
    whole_number,
)
from studio_core.errors import ServiceError

# Replicate's Seedream 4.5 / 5 pro schemas cap prompts at 4,000 characters (providers.md §2.3);
# Ark only recommends <= 600 English words, so 4,000 is the strictest hard limit we know of.
MAX_PROMPT_LENGTH = 4_000
# Ark `seed` range; -1 = random (providers.md §1.3).
SEED_MIN = -1
SEED_MAX = 2_147_483_647
RANDOM_SEED = -1
# Ark / Replicate / Scenario: reference images + generated images <= 15 (providers.md §9.4).
MAX_IMAGES_PER_REQUEST = 15
# Ark `image`: at most 14 reference images for 4.0 / 4.5 / 5.0-lite (providers.md §1.3).
MAX_REFERENCE_IMAGES = 14
OUTPUT_FORMAT_ALIASES: Mapping[str, str] = {"jpg": "jpeg"}
KNOWN_OUTPUT_FORMATS: tuple[str, ...] = ("jpeg", "png")


class SpecError(ServiceError, ValueError):
    """A request the catalog refuses; `errors` maps field name -> messages.

    An interface that shows one message shows the first field's first (``field``,
    ``message``); ``str()`` joins them all.
    """

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors: Errors = {
            field: list(messages) for field, messages in errors.items() if messages
        }
        first_field = next(iter(self.errors), None)
        super().__init__(
            self.errors[first_field][0] if first_field else "The request is not valid.",
            field=first_field,
            details=self.errors,
        )

    def __str__(self) -> str:
        return " ".join(m for messages in self.errors.values() for m in messages)

    @property
    def field_errors(self) -> dict[str, list[str]]:
        return self.errors


@dataclass(frozen=True, kw_only=True)
class CatalogModel:
    """One model's capabilities. Defaults are the common case, so each entry shows what differs.

    `min_pixels`/`max_pixels` of None mean explicit WxH sizes are not accepted; `size_tiers`
    lists the keywords ("2K", "adaptive") and `aspect_ratios` the shapes a tier can take.
    """

    id: str
    label: str
    description: str
    text_to_image: bool
    image_to_image: bool
    size_tiers: tuple[str, ...]
    default_size: str
    aspect_ratios: tuple[str, ...]
    min_pixels: int | None
    max_pixels: int | None
    min_side: int | None = None
    max_side: int | None = None
    # Ark's WxH aspect range for 4.x / 5.0-lite (providers.md §1.4).
    min_aspect: float = 1 / 16
    max_aspect: float = 16.0
    min_references: int = 0
    max_references: int
    max_outputs: int
    max_total_images: int
    supports_seed: bool = False
    supports_guidance: bool = False
    guidance_range: tuple[float, float] | None = None
    # `output_format` exists on 5.0-lite only; everything else returns JPEG (§1.3).
    output_formats: tuple[str, ...] = ("jpeg",)
    # The shape a tier takes when the caller names none: the provider's own default.
    default_aspect_ratio: str = DEFAULT_ASPECT_RATIO

    @property
    def accepts_explicit_size(self) -> bool:
        return self.min_pixels is not None and self.max_pixels is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly description for `GET /api/v1/models` and the compose form's JS."""
        data = {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in asdict(self).items()
        }
        data["accepts_explicit_size"] = self.accepts_explicit_size
        data["default_aspect_ratio"] = self.default_aspect_ratio if self.aspect_ratios else ""
        data["max_prompt_length"] = MAX_PROMPT_LENGTH
        data["size_help"] = size_help(self)
        table = TIER_SIZES_BY_MODEL.get(self.id, {})
        data["tier_dimensions"] = {
            tier: {aspect: format_size(*table[tier][aspect]) for aspect in self.aspect_ratios}
            for tier in self.size_tiers
            if tier in table
        }
        return data


@dataclass(frozen=True)
class GenerationSpec:
    """What a caller asks for, before validation."""

    model: str
    prompt: str
    size: str = ""
    aspect_ratio: str = ""
    num_images: int = 1
    reference_count: int = 0
    seed: int | None = None
    guidance_scale: float | None = None
    output_format: str = ""


@dataclass(frozen=True)
class ResolvedSpec:
    """The normalized, validated request stored on a generation."""

    model: str
    prompt: str
    size: str
    aspect_ratio: str
    width: int
    height: int
    num_images: int
    reference_count: int
    seed: int | None
    guidance_scale: float | None
    output_format: str

    def as_params(self) -> dict[str, Any]:
        return asdict(self)


# Seedream 4.0 / 4.5 / 5.0-lite share Ark's group-generation limits (providers.md §1.3, §9.4):
# up to 14 references and 15 images per request counting references; no seed, no guidance.
_MODELS: tuple[CatalogModel, ...] = (
    CatalogModel(
        id="seedream-5.0-lite",
        label="Seedream 5.0 Lite",
        description="The newest Seedream: 2K, 3K or 4K images, up to 14 references, JPEG or PNG.",
        text_to_image=True,
        image_to_image=True,
        # The official page lists 2K/3K; Siraya (seed 004) and Ace (seed 002) also serve 4K.
        # Providers without it refuse 4K before any call, and the request fails over to one
        # that serves it. Explicit sizes keep the official pixel range below.
        size_tiers=("2K", "3K", "4K"),
        default_size="2K",  # Ark default 2048x2048 (§1.3)
        aspect_ratios=COMMON_ASPECT_RATIOS,
        min_pixels=3_686_400,  # 2560 x 1440
        max_pixels=10_404_496,  # 3072 x 3072 x 1.1025
        max_references=MAX_REFERENCE_IMAGES,
        max_outputs=MAX_IMAGES_PER_REQUEST,
        max_total_images=MAX_IMAGES_PER_REQUEST,
        output_formats=("jpeg", "png"),
    ),
    CatalogModel(
        id="seedream-4.5",
        label="Seedream 4.5",
        description="Sharper detail and lettering than 4.0, at 2K or 4K, with up to 14 references.",
        text_to_image=True,
        image_to_image=True,
        size_tiers=("2K", "4K"),
        default_size="2K",
        aspect_ratios=COMMON_ASPECT_RATIOS,
        min_pixels=3_686_400,  # 2560 x 1440
        max_pixels=16_777_216,  # 4096 x 4096
        max_references=MAX_REFERENCE_IMAGES,
        max_outputs=MAX_IMAGES_PER_REQUEST,
        max_total_images=MAX_IMAGES_PER_REQUEST,
    ),
    CatalogModel(
        id="seedream-4.0",
        label="Seedream 4.0",
        description="Fast all-rounder at 1K, 2K or 4K, for new images and multi-reference edits.",
        text_to_image=True,
        image_to_image=True,
        size_tiers=("1K", "2K", "4K"),
        default_size="2K",
        aspect_ratios=COMMON_ASPECT_RATIOS,
        min_pixels=921_600,  # 1280 x 720
        max_pixels=16_777_216,  # 4096 x 4096
        max_references=MAX_REFERENCE_IMAGES,
        max_outputs=MAX_IMAGES_PER_REQUEST,
        max_total_images=MAX_IMAGES_PER_REQUEST,
    ),
    CatalogModel(
        id="seedream-3.0-t2i",
        label="Seedream 3.0",
        description="Text-to-image at an exact size up to 2048x2048, with seed and guidance.",
        text_to_image=True,
        image_to_image=False,
        size_tiers=(),  # WxH only, default 1024x1024 (§1.3, §1.4)
        default_size="1024x1024",
        aspect_ratios=(),
        min_pixels=262_144,  # 512 x 512
        max_pixels=4_194_304,  # 2048 x 2048
        # The docs state no aspect range for 3.0; the default 1/16..16 applies rather than none.
        max_references=0,
        max_outputs=1,
        max_total_images=1,
        supports_seed=True,
        supports_guidance=True,
        guidance_range=(1.0, 10.0),  # Ark `guidance_scale` [1, 10], default 2.5 (§1.3)
    ),
    CatalogModel(
        id="seededit-3.0-i2i",
        label="SeedEdit 3.0",
        description="Edits one reference image from a written instruction, keeping its shape.",
        text_to_image=False,
        image_to_image=True,
        size_tiers=(ADAPTIVE_SIZE,),  # only `adaptive` (§1.4)
        default_size=ADAPTIVE_SIZE,
        aspect_ratios=(),
        min_pixels=None,
        max_pixels=None,
        # The input image's aspect range (§1.3); the output follows the input.
        min_aspect=1 / 3,
        max_aspect=3.0,
        min_references=1,  # `image` is a single image for SeedEdit (§1.3)
        max_references=1,
        max_outputs=1,
        max_total_images=2,
        supports_seed=True,
        supports_guidance=True,
        guidance_range=(1.0, 10.0),  # default 5.5 (§1.3)
    ),
    CatalogModel(
        id="dreamina-3.1",
        label="Dreamina 3.1",
        # Scenario: "ByteDance's creativity-focused model for stylized outputs", txt2img only.
        description="Creativity-focused text-to-image for stylized pictures, at 1K or 2K.",
        text_to_image=True,
        image_to_image=False,
        size_tiers=("1K", "2K"),  # Scenario `resolution`, default 2K
        default_size="2K",
        aspect_ratios=ASPECT_RATIOS,  # the common ones plus 9:21
        default_aspect_ratio="4:3",  # Scenario's `aspectRatio` default (seed 000)
        # Scenario's custom width/height are 512-3024 per side; the product and aspect limits
        # are only what those side limits imply.
        min_pixels=512 * 512,
        max_pixels=3024 * 3024,
        min_side=512,
        max_side=3024,
        min_aspect=512 / 3024,
        max_aspect=3024 / 512,
        max_references=0,
        max_outputs=1,
        max_total_images=1,
        supports_seed=True,  # Scenario lists `seed` for Dreamina 3.1 only (§3.3)
    ),
)
_MODELS_BY_ID: Mapping[str, CatalogModel] = {model.id: model for model in _MODELS}


def list_models() -> list[CatalogModel]:
    return list(_MODELS)


def get_model(model_id: str) -> CatalogModel:
    model = _MODELS_BY_ID.get(model_id) if isinstance(model_id, str) else None
    if model is None:
        known = ", ".join(_MODELS_BY_ID)
        raise SpecError({"model": [f'Unknown model "{model_id}"; known models: {known}.']})
    return model


def tier_dimensions(model_id: str, tier: str, aspect_ratio: str = "") -> tuple[int, int]:
    """Recommended WxH for a tier keyword and aspect ratio ("" = the model's default) on a model.

    SeedEdit's "adaptive" follows the reference image; it answers the 1024x1024 stand-in.
    """
    model = get_model(model_id)
    errors: Errors = {}
    keyword = size_keyword(tier)
    dimensions = None
    if keyword is None or keyword not in model.size_tiers:
        add_error(errors, "size", f"{model.label} has no {tier.strip()} size; {size_rule(model)}.")
    else:
        dimensions = keyword_dimensions(model, keyword, aspect_ratio.strip(), errors)
    if dimensions is None:
        raise SpecError(errors)
    return dimensions


def validate_spec(spec: GenerationSpec) -> ResolvedSpec:
    """Check every field against the model, collecting all problems, then raise or resolve."""
    errors: Errors = {}
    prompt = _check_prompt(spec.prompt, errors)
    try:
        model = get_model(spec.model)
    except SpecError as exc:
        errors.update(exc.errors)
        raise SpecError(errors) from None

    # An edit keeps its reference's shape unless the caller names one (only tiered models
    # that take references; a count the checks below refuse changes nothing here).
    follows_reference = (
        model.image_to_image and isinstance(spec.reference_count, int) and spec.reference_count > 0
    )
    resolved_size = resolve_size(
        model,
        spec.size or "",
        spec.aspect_ratio or "",
        errors,
        follows_reference=follows_reference,
    )
    check_image_counts(model, spec.num_images, spec.reference_count, errors)
    seed = _check_seed(model, spec.seed, errors)
    guidance_scale = _check_guidance(model, spec.guidance_scale, errors)
    output_format = _check_output_format(model, spec.output_format or "", errors)
    if errors or resolved_size is None:
        raise SpecError(errors)

    return ResolvedSpec(
        model=model.id,
        prompt=prompt,
        size=resolved_size.size,
        aspect_ratio=resolved_size.aspect_ratio,
        width=resolved_size.width,
        height=resolved_size.height,
        num_images=spec.num_images,
        reference_count=spec.reference_count,
        seed=seed,
        guidance_scale=guidance_scale,
        output_format=output_format,
    )


def _join_words(words: Sequence[str]) -> str:
    """["a", "b", "c"] -> "a, b and c"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _check_prompt(prompt: object, errors: Errors) -> str:
    text = prompt.strip() if isinstance(prompt, str) else ""
    if not text:
        add_error(errors, "prompt", "Prompt is required.")
    elif len(text) > MAX_PROMPT_LENGTH:
        add_error(
            errors,
            "prompt",
            f"Prompt must be at most {format_count(MAX_PROMPT_LENGTH)} characters; "
            f"got {format_count(len(text))}.",
        )
    return text


def _check_seed(model: CatalogModel, seed: object, errors: Errors) -> int | None:
    if seed is None:
        return None
    if not model.supports_seed:
        takers = _join_words([m.label for m in _MODELS if m.supports_seed])
        add_error(errors, "seed", f"{model.label} does not take a seed; only {takers} do.")
        return None
    value = whole_number(seed)
    if value is None or not SEED_MIN <= value <= SEED_MAX:
        add_error(
            errors,
            "seed",
            f"seed must be a whole number between {SEED_MIN} (random) and "
            f"{format_count(SEED_MAX)}; got {seed!r}.",
        )
        return None
    return None if value == RANDOM_SEED else value


def _check_guidance(model: CatalogModel, guidance_scale: object, errors: Errors) -> float | None:
    if guidance_scale is None:
        return None
    if not model.supports_guidance or model.guidance_range is None:
        takers = _join_words([m.label for m in _MODELS if m.supports_guidance])
        add_error(
            errors,
            "guidance_scale",
            f"{model.label} does not take a guidance scale; only {takers} do.",
        )
        return None
    low, high = model.guidance_range
    if (
        not isinstance(guidance_scale, int | float)
        or isinstance(guidance_scale, bool)
        or not math.isfinite(guidance_scale)
        or not low <= guidance_scale <= high
    ):
        add_error(
            errors,
            "guidance_scale",
            f"guidance_scale must be between {low:g} and {high:g}; got {guidance_scale!r}.",
        )
        return None
    return float(guidance_scale)


def _check_output_format(model: CatalogModel, output_format: str, errors: Errors) -> str:
    requested = output_format.strip().lower()
    normalized = OUTPUT_FORMAT_ALIASES.get(requested, requested) or model.output_formats[0]
    if normalized in model.output_formats:
        return normalized
    if normalized in KNOWN_OUTPUT_FORMATS:
        message = f"{model.label} outputs {' or '.join(model.output_formats)} only"
    else:
        message = f"output_format must be {' or '.join(KNOWN_OUTPUT_FORMATS)} (jpg means jpeg)"
    add_error(errors, "output_format", f'{message}; got "{output_format.strip()}".')
    return normalized


# Every model id, for the API schema's one enum of them (SPECTACULAR_SETTINGS).
MODEL_IDS = [model.id for model in list_models()]
