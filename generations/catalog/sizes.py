"""Size rules for the model catalog: pixels per image and images per request.

Pure Python, no Django. `generations.catalog` owns the models and the public entry points; this
module turns a caller's `size` / `aspect_ratio` into concrete pixels for one model and checks
the output and reference-image counts. Functions here append to an errors dict
(field -> messages) instead of raising, so `validate_spec` can report every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # catalog imports this module at runtime; the reverse is for types only.
    from generations.catalog import CatalogModel

Errors = dict[str, list[str]]
TierTable = Mapping[str, Mapping[str, tuple[int, int]]]

# The aspect ratios every tiered Seedream model takes (Replicate / Scenario `aspect_ratio`
# enums), in the column order of the BytePlus tier table below.
COMMON_ASPECT_RATIOS: tuple[str, ...] = ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "21:9")
# Every ratio any model takes, for choice lists: only Dreamina 3.1 adds the tall 9:21 (Scenario's
# Bytedance model table). Each model's own `aspect_ratios` says what it accepts.
ASPECT_RATIOS: tuple[str, ...] = (*COMMON_ASPECT_RATIOS, "9:21")
DEFAULT_ASPECT_RATIO = "1:1"

# Every tier keyword any model uses; tells "a tier this model lacks" apart from garbage.
KNOWN_TIERS: tuple[str, ...] = ("1K", "2K", "3K", "4K")
ADAPTIVE_SIZE = "adaptive"
# SeedEdit "adaptive" follows the reference image, which the catalog never sees; 1024x1024
# stands in until the provider reports the real size.
ADAPTIVE_FALLBACK_DIMENSIONS: tuple[int, int] = (1024, 1024)

# "2048x2048", "2048 X 2048" or "2048\u00d72048" (the multiplication sign pasted from docs).
_EXPLICIT_SIZE = re.compile(r"^\s*(\d{1,9})\s*[xX\u00d7]\s*(\d{1,9})\s*$")


class ResolvedSize(NamedTuple):
    size: str  # "2K", "2560x1440" or "adaptive"
    aspect_ratio: str  # "" unless a tier was used
    width: int
    height: int


def _table(aspect_ratios: tuple[str, ...], rows: dict[str, str]) -> TierTable:
    """Build tier -> aspect -> (w, h) from one row of "WxH" strings per tier."""
    table = {}
    for tier, row in rows.items():
        sizes = [parse_explicit_size(cell) for cell in row.split()]
        if len(sizes) != len(aspect_ratios) or None in sizes:
            raise ValueError(f"Malformed {tier} row: {row!r}")
        table[tier] = MappingProxyType(
            {aspect: size for aspect, size in zip(aspect_ratios, sizes, strict=True) if size}
        )
    return MappingProxyType(table)


def parse_explicit_size(size: str) -> tuple[int, int] | None:
    """(width, height) for a ``WxH`` string with positive sides, else None."""
    match = _EXPLICIT_SIZE.match(size)
    if match is None:
        return None
    width, height = int(match.group(1)), int(match.group(2))
    return (width, height) if width > 0 and height > 0 else None


# Recommended WxH per tier, columns in COMMON_ASPECT_RATIOS order: BytePlus ModelArk
# image-generation page (providers.md §1.4). Its 4.0 tab prints the 1K 4:3/3:4 and 3:2/2:3
# cells swapped; we keep the orientation the ratio names. A tier request still lets the model
# choose the output size.
ARK_TIER_SIZES = _table(
    COMMON_ASPECT_RATIOS,
    {
        "1K": "1024x1024 1152x864 864x1152 1280x720 720x1280 1248x832 832x1248 1512x648",
        "2K": "2048x2048 2304x1728 1728x2304 2848x1600 1600x2848 2496x1664 1664x2496 3136x1344",
        "3K": "3072x3072 3456x2592 2592x3456 4096x2304 2304x4096 3744x2496 2496x3744 4704x2016",
        "4K": "4096x4096 4704x3520 3520x4704 5504x3040 3040x5504 4992x3328 3328x4992 6240x2656",
    },
)

# Dreamina 3.1 (Seedream 3.1 lineage): no stored page prints its per-tier pixels, so this is a
# judgement. 1K is the Seedream 3 preset family whose 1:1 member, 1328x1328, is the custom-size
# default on Scenario and Replicate; 2K is the older Ark 2K table (2560x1440, 3024x1296;
# providers.md §1.4 note), whose longest side, 3024, is exactly Scenario's custom-size maximum.
# Every cell stays inside Dreamina's 512-3024 side limits.
DREAMINA_TIER_SIZES = _table(
    ASPECT_RATIOS,
    {
        "1K": "1328x1328 1472x1104 1104x1472 1664x936 936x1664 "
        "1584x1056 1056x1584 2016x864 864x2016",
        "2K": "2048x2048 2304x1728 1728x2304 2560x1440 1440x2560 "
        "2496x1664 1664x2496 3024x1296 1296x3024",
    },
)

TIER_SIZES_BY_MODEL: Mapping[str, TierTable] = MappingProxyType(
    {
        "seedream-5.0-lite": ARK_TIER_SIZES,
        "seedream-4.5": ARK_TIER_SIZES,
        "seedream-4.0": ARK_TIER_SIZES,
        "dreamina-3.1": DREAMINA_TIER_SIZES,
    }
)


def add_error(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def format_count(number: int) -> str:
    """12,345,678 style, the way every limit in our messages is written."""
    return f"{number:,}"


def format_size(width: int, height: int) -> str:
    return f"{width}x{height}"


def size_keyword(size: str) -> str | None:
    """Normalize a tier or "adaptive" keyword ("2k" -> "2K"); None if it is neither."""
    stripped = size.strip()
    if stripped.upper() in KNOWN_TIERS:
        return stripped.upper()
    if stripped.lower() == ADAPTIVE_SIZE:
        return ADAPTIVE_SIZE
    return None


def size_rule(model: CatalogModel) -> str:
    """The size forms a model accepts, e.g. 'size must be a tier (2K, 4K) or WIDTHxHEIGHT ...'."""
    tiers = [tier for tier in model.size_tiers if tier != ADAPTIVE_SIZE]
    forms = []
    if ADAPTIVE_SIZE in model.size_tiers:
        forms.append(f'"{ADAPTIVE_SIZE}"')
    if tiers:
        forms.append(f"a tier ({', '.join(tiers)})")
    if model.accepts_explicit_size:
        forms.append(f"WIDTHxHEIGHT such as {_example_size(model)}")
    return f"size must be {' or '.join(forms)}"


def size_help(model: CatalogModel) -> str:
    """The size forms a model takes, in words for the compose form: tier keywords, the exact
    WIDTHxHEIGHT range, or adaptive only; and what an empty size means."""
    if model.size_tiers == (ADAPTIVE_SIZE,):
        return "Adaptive only: the result keeps the reference image's size and shape."
    tiers = [tier for tier in model.size_tiers if tier != ADAPTIVE_SIZE]
    forms = []
    if tiers:
        forms.append(f"A tier, {_or_words(tiers)}, with an aspect ratio")
    if model.accepts_explicit_size:
        exact = "an exact WIDTHxHEIGHT" if tiers else "An exact WIDTHxHEIGHT only"
        if model.min_side is not None and model.max_side is not None:
            limits = (
                f"each side {format_count(model.min_side)} to {format_count(model.max_side)} px"
            )
        else:
            limits = (
                f"{format_count(model.min_pixels or 0)} to {format_count(model.max_pixels or 0)} "
                f"pixels, such as {_example_size(model)}"
            )
        forms.append(f"{exact} ({limits})")
    return f"{', or '.join(forms)}. Empty means {model.default_size}."


def _or_words(words: list[str]) -> str:
    """["1K", "2K", "4K"] -> "1K, 2K or 4K"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def keyword_dimensions(
    model: CatalogModel, keyword: str, aspect_ratio: str, errors: Errors
) -> tuple[int, int] | None:
    """Pixels for a size keyword the model offers, or None after recording an aspect error."""
    if keyword == ADAPTIVE_SIZE:
        if aspect_ratio:
            add_error(
                errors,
                "aspect_ratio",
                f"{model.label} keeps the reference image's shape; leave the aspect ratio empty.",
            )
            return None
        return ADAPTIVE_FALLBACK_DIMENSIONS
    aspect_ratio = aspect_ratio or model.default_aspect_ratio
    if aspect_ratio not in model.aspect_ratios:
        add_error(
            errors,
            "aspect_ratio",
            f"{model.label} takes aspect ratios {', '.join(model.aspect_ratios)}; "
            f'got "{aspect_ratio}".',
        )
        return None
    return TIER_SIZES_BY_MODEL[model.id][keyword][aspect_ratio]


def resolve_size(
    model: CatalogModel,
    raw_size: str,
    raw_aspect: str,
    errors: Errors,
    *,
    follows_reference: bool = False,
) -> ResolvedSize | None:
    """Normalize `size` + `aspect_ratio` for a model ("" = its default), or record why not.

    With `follows_reference` (an edit: reference images attached) a tier without an aspect
    ratio keeps "" as its aspect ratio: the provider's own "match the input" option shapes the
    image like the reference. Its pixels are then the default shape's, a stand-in until the
    provider reports the real size (as for "adaptive").
    """
    size = raw_size.strip() or model.default_size
    aspect_ratio = raw_aspect.strip()
    keyword = size_keyword(size)
    if keyword is not None:
        if keyword not in model.size_tiers:
            add_error(errors, "size", f"{model.label} has no {keyword} size; {size_rule(model)}.")
            return None
        dimensions = keyword_dimensions(model, keyword, aspect_ratio, errors)
        if dimensions is None:
            return None
        if keyword == ADAPTIVE_SIZE or (follows_reference and not aspect_ratio):
            return ResolvedSize(keyword, "", *dimensions)
        return ResolvedSize(keyword, aspect_ratio or model.default_aspect_ratio, *dimensions)

    parsed = parse_explicit_size(size)
    if parsed is None:
        add_error(errors, "size", f'{model.label}: {size_rule(model)}; got "{size}".')
        return None
    if not model.accepts_explicit_size:
        add_error(errors, "size", f"{model.label} takes no explicit size; {size_rule(model)}.")
        return None
    width, height = parsed
    label = format_size(width, height)
    if aspect_ratio:
        reason = (
            f"{model.label} has no size tiers"
            if not model.size_tiers
            else f"{label} already fixes the shape"
        )
        add_error(errors, "aspect_ratio", f"An aspect ratio goes with a size tier only; {reason}.")
    problems = explicit_size_problems(model, width, height)
    for message in problems:
        add_error(errors, "size", message)
    if problems or aspect_ratio:
        return None
    return ResolvedSize(label, "", width, height)


def explicit_size_problems(model: CatalogModel, width: int, height: int) -> list[str]:
    """Messages for each limit an explicit WxH breaks: per-side, pixel product, aspect."""
    label = format_size(width, height)
    if model.min_side is not None and model.max_side is not None:
        low, high = model.min_side, model.max_side
        if not (low <= width <= high and low <= height <= high):
            # Side limits imply the product and aspect limits, so this is the only message.
            return [
                f"{model.label} needs each side between {format_count(low)} and "
                f"{format_count(high)} pixels; {label} is outside that."
            ]
    problems = []
    pixels = width * height
    if model.min_pixels is not None and pixels < model.min_pixels:
        problems.append(
            f"{model.label} needs at least {format_count(model.min_pixels)} pixels; "
            f"{label} has {format_count(pixels)}."
        )
    if model.max_pixels is not None and pixels > model.max_pixels:
        problems.append(
            f"{model.label} allows at most {format_count(model.max_pixels)} pixels; "
            f"{label} has {format_count(pixels)}."
        )
    if not _aspect_within(width, height, model.min_aspect, model.max_aspect):
        problems.append(
            f"{model.label} needs a width-to-height ratio between "
            f"{_format_aspect_limit(model.min_aspect)} and "
            f"{_format_aspect_limit(model.max_aspect)}; {label} is {_format_ratio(width, height)}."
        )
    return problems


def whole_number(value: object) -> int | None:
    """The value if it is an int (bools are not numbers here), else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def check_image_counts(
    model: CatalogModel, num_images: object, reference_count: object, errors: Errors
) -> None:
    """Outputs within the model's range, references within its range, and their sum capped."""
    outputs = whole_number(num_images)
    if outputs is None:
        add_error(errors, "num_images", f"num_images must be a whole number; got {num_images!r}.")
    elif not 1 <= outputs <= model.max_outputs:
        limit = "one image" if model.max_outputs == 1 else f"1 to {model.max_outputs} images"
        add_error(errors, "num_images", f"{model.label} makes {limit} per request; got {outputs}.")
        outputs = None

    references = whole_number(reference_count)
    if references is None:
        add_error(
            errors,
            "reference_count",
            f"reference_count must be a whole number; got {reference_count!r}.",
        )
    elif message := _reference_problem(model, references):
        add_error(errors, "reference_count", message)
        references = None

    if outputs is not None and references is not None:
        total = outputs + references
        if total > model.max_total_images:
            add_error(
                errors,
                "num_images",
                f"{model.label} allows at most {model.max_total_images} images per request "
                f"counting references; {references} references + {outputs} outputs "
                f"= {total}.",
            )


def _reference_problem(model: CatalogModel, count: int) -> str:
    if count < 0:
        return f"reference_count cannot be negative; got {count}."
    if model.max_references == 0 and count:
        return f"{model.label} is text-to-image only and takes no reference images; got {count}."
    if model.min_references == model.max_references and count != model.min_references:
        plural = "" if model.min_references == 1 else "s"
        return (
            f"{model.label} needs exactly {model.min_references} reference image{plural}; "
            f"got {count}."
        )
    if count < model.min_references:
        return f"{model.label} needs at least {model.min_references} reference images; got {count}."
    if count > model.max_references:
        return f"{model.label} takes at most {model.max_references} reference images; got {count}."
    return ""


def _example_size(model: CatalogModel) -> str:
    parsed = parse_explicit_size(model.default_size)
    if parsed is None:  # a tier default: show its 1:1 size
        parsed = TIER_SIZES_BY_MODEL[model.id][model.default_size][DEFAULT_ASPECT_RATIO]
    return format_size(*parsed)


def _aspect_within(width: int, height: int, min_aspect: float, max_aspect: float) -> bool:
    # Exact rational comparison so 4096x256 sits on the 16:1 limit instead of beside it.
    ratio = Fraction(width, height)
    low = Fraction(min_aspect).limit_denominator(10_000)
    high = Fraction(max_aspect).limit_denominator(10_000)
    return low <= ratio <= high


def _format_ratio(width: int, height: int) -> str:
    """Width-to-height as "N:1" or "1:N", e.g. 4097x256 -> "16.004:1"."""
    if width >= height:
        return f"{_trim(width / height)}:1"
    return f"1:{_trim(height / width)}"


def _format_aspect_limit(limit: float) -> str:
    """1/16 -> "1:16", 16 -> "16:1"."""
    return f"{_trim(limit)}:1" if limit >= 1 else f"1:{_trim(1 / limit)}"


def _trim(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")
