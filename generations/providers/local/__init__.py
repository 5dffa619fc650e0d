"""The built-in demo provider (kind "local"): renders real images on this machine with Pillow.

It makes the embedded default work offline and gives tests and benchmarks a provider with no
network. The UI always labels its output as a demo.

Behaviour:
- Exactly `request.max_images` images of exactly `request.width` x `request.height`, encoded as
  JPEG (quality 90) or PNG per `request.output_format`.
- Deterministic: the same (prompt, seed, image index) gives byte-identical output on the same
  Pillow build; a different prompt or seed gives a different picture. No seed is its own value,
  so unseeded requests are repeatable too.
- Cheap at any size: a ~256 px composition (gradient, shapes, the prompt's first words) is
  drawn, then resized to the target, so 4096x4096 costs a resize and an encode.
- With a reference image given as bytes, its average colour tints the background.
- `account.options["latency_s"]` (seconds, default 0): the call lasts at least this long, like a
  real provider that computes for a while and then answers. The images are rendered first and
  the rest of the time is slept with `time.sleep`, so calls in threads overlap like real
  in-flight requests and the rendering happens inside the simulated latency, not after it.

Demo hooks (tokens in the prompt, checked after the latency):
- "[fail]"    -> raises `Unavailable` (failover-safe, as a refused connection would be);
- "[refuse]"  -> raises `ContentRefused`, as an input content filter would;
- "[partial]" -> the last image of the group is a `ProviderImageFailure` ("content_refused"),
  the others are delivered, and usage counts only the delivered ones.

An account-wide outage for routing and failover demos: ``account.options["simulate_error"]``
set to "unavailable", "auth" or "rate_limit" makes every call of that account fail that way.
"""

from __future__ import annotations

import hashlib
import io
import random
import time
from collections.abc import Iterator

from PIL import Image, ImageDraw, ImageFont, ImageStat

from generations.providers.base import BaseAdapter
from generations.providers.contract import (
    ProviderImage,
    ProviderImageFailure,
    ProviderOutcome,
)
from generations.providers.errors import (
    AuthError,
    BadRequest,
    ContentRefused,
    RateLimited,
    Unavailable,
)
from generations.providers.inputs import ProviderRequest, ReferenceInput
from generations.providers.registry import register_adapter

__all__ = ["FAIL_HOOK", "PARTIAL_HOOK", "REFUSE_HOOK", "LocalAdapter", "render_image"]

FAIL_HOOK = "[fail]"
REFUSE_HOOK = "[refuse]"
PARTIAL_HOOK = "[partial]"

# The drawing is made at this long side and resized up; detail beyond it would not show anyway.
_SKETCH_LONG_SIDE = 256
# Largest canvas any Seedream provider allows (Scenario 5.0-lite: 6240 per side); beyond it the
# demo would only be a way to exhaust the worker's memory.
_MAX_PIXELS = 6240 * 6240
_JPEG_QUALITY = 90
_MIME_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}
_CAPTION_WORDS = 6
# A reference image is only sampled for a colour; never decode more than this.
_MAX_REFERENCE_PIXELS = 50_000_000

RGB = tuple[int, int, int]


@register_adapter
class LocalAdapter(BaseAdapter):
    kind = "local"

    def generate(self, request: ProviderRequest) -> Iterator[ProviderOutcome]:
        if request.width * request.height > _MAX_PIXELS:
            raise BadRequest(
                message=(
                    f"the local demo provider renders at most {_MAX_PIXELS:,} pixels; "
                    f"{request.width}x{request.height} has {request.width * request.height:,}"
                ),
            )
        self._raise_simulated_error()
        latency_s = self._latency_s()
        started = time.monotonic()
        outcomes = list(self._render_group(request))
        remaining_s = latency_s - (time.monotonic() - started)
        if remaining_s > 0:
            time.sleep(remaining_s)
        if FAIL_HOOK in request.prompt:
            raise Unavailable(
                message=f"local demo provider: simulated outage ({FAIL_HOOK} in the prompt)",
                before_accepted=True,
            )
        if REFUSE_HOOK in request.prompt:
            raise ContentRefused(
                message=f"local demo provider: simulated refusal ({REFUSE_HOOK} in the prompt)",
                provider_code="InputTextSensitiveContentDetected",
            )
        yield from outcomes
        yield self.usage(outcomes, model=request.model, latency_s=latency_s)

    def _render_group(self, request: ProviderRequest) -> Iterator[ProviderOutcome]:
        if FAIL_HOOK in request.prompt or REFUSE_HOOK in request.prompt:
            return
        tint = _average_colour(request.references)
        refused_index = request.max_images - 1 if PARTIAL_HOOK in request.prompt else None
        for index in range(request.max_images):
            if index == refused_index:
                yield ProviderImageFailure(
                    index=index,
                    code=ContentRefused.code,
                    message="local demo provider: output blocked by the simulated filter",
                )
                continue
            yield ProviderImage(
                index=index,
                content=render_image(
                    prompt=request.prompt,
                    seed=request.seed,
                    index=index,
                    width=request.width,
                    height=request.height,
                    output_format=request.output_format,
                    tint=tint,
                ),
                url=None,
                width=request.width,
                height=request.height,
                mime=_MIME_TYPES[request.output_format],
            )

    def _raise_simulated_error(self) -> None:
        simulated = self.account.options.get("simulate_error", "")
        if simulated == "unavailable":
            raise Unavailable(message="local demo provider: simulated outage of this account")
        if simulated == "auth":
            raise AuthError(message="local demo provider: simulated bad key", http_status=401)
        if simulated == "rate_limit":
            raise RateLimited(message="local demo provider: simulated rate limit", retry_after=0.01)
        if simulated:
            raise ValueError(f"unknown simulate_error {simulated!r}")

    def check(self) -> str:
        self._raise_simulated_error()
        return "The local demo renderer needs no credentials; it renders on this machine."

    def _latency_s(self) -> float:
        value = self.account.options.get("latency_s", 0)
        try:
            latency_s = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"local provider option latency_s must be a number of seconds, got {value!r}"
            ) from None
        return max(0.0, latency_s)


def render_image(
    *,
    prompt: str,
    seed: int | None,
    index: int,
    width: int,
    height: int,
    output_format: str = "jpeg",
    tint: RGB | None = None,
) -> bytes:
    """Encode one deterministic demo picture for (prompt, seed, index) at width x height."""
    digest = hashlib.sha256(f"{seed!r}\x00{index}\x00{prompt}".encode()).digest()
    # Not for security: a seeded generator is exactly what makes the picture reproducible.
    rng = random.Random(digest)  # noqa: S311
    sketch = _draw_sketch(rng, prompt=prompt, seed=seed, index=index, aspect=width / height)
    if tint is not None:
        sketch = Image.blend(sketch, Image.new("RGB", sketch.size, tint), 0.35)
    picture = sketch.resize((width, height), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    if output_format == "png":
        picture.save(buffer, format="PNG")
    else:
        picture.save(buffer, format="JPEG", quality=_JPEG_QUALITY)
    return buffer.getvalue()


def _draw_sketch(
    rng: random.Random, *, prompt: str, seed: int | None, index: int, aspect: float
) -> Image.Image:
    if aspect >= 1:
        size = (_SKETCH_LONG_SIDE, max(1, round(_SKETCH_LONG_SIDE / aspect)))
    else:
        size = (max(1, round(_SKETCH_LONG_SIDE * aspect)), _SKETCH_LONG_SIDE)
    image = _gradient(size, _random_colour(rng), _random_colour(rng), rng.randrange(4))

    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    width, height = size
    for _ in range(rng.randint(3, 6)):
        x0, x1 = sorted(rng.randint(-width // 4, width + width // 4) for _ in range(2))
        y0, y1 = sorted(rng.randint(-height // 4, height + height // 4) for _ in range(2))
        colour = (*_random_colour(rng), rng.randint(90, 200))
        shape = rng.choice(("ellipse", "rectangle", "triangle"))
        if shape == "ellipse":
            draw.ellipse((x0, y0, x1 + 1, y1 + 1), fill=colour)
        elif shape == "rectangle":
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.polygon([(x0, y1), (x1, y1), (rng.randint(x0, x1), y0)], fill=colour)
    image = Image.alpha_composite(image.convert("RGBA"), overlay)

    _draw_caption(image, prompt=prompt, seed=seed, index=index)
    return image.convert("RGB")


def _gradient(size: tuple[int, int], start: RGB, end: RGB, direction: int) -> Image.Image:
    mask = Image.linear_gradient("L")  # 256x256, black at the top to white at the bottom
    if direction:
        mask = mask.rotate(90 * direction)
    mask = mask.resize(size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", size, end), Image.new("RGB", size, start), mask)


def _draw_caption(image: Image.Image, *, prompt: str, seed: int | None, index: int) -> None:
    width, height = image.size
    if width < 48 or height < 24:
        return  # extreme aspect ratios leave no room for legible text
    words = " ".join(prompt.split()[:_CAPTION_WORDS]) or "(empty prompt)"
    seed_text = "no seed" if seed is None else f"seed {seed}"
    lines = [words, f"demo · {seed_text} · #{index + 1}"]
    font = _font(max(9, min(width, height) // 14))
    draw = ImageDraw.Draw(image)
    margin = max(2, min(width, height) // 32)
    line_height = font.size + 2 if isinstance(font, ImageFont.FreeTypeFont) else 12
    top = height - margin - line_height * len(lines)
    for line_number, line in enumerate(lines):
        position = (margin, top + line_number * line_height)
        draw.text(
            position,
            _fit(line, font, width - 2 * margin),
            font=font,
            fill=(255, 255, 255),
            stroke_width=1,
            stroke_fill=(0, 0, 0),
        )


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError):
        # Pillow without FreeType: the fixed bitmap font, which only knows Latin-1.
        return ImageFont.load_default()


def _fit(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_width: int) -> str:
    if not isinstance(font, ImageFont.FreeTypeFont):
        text = text.encode("latin-1", "replace").decode("latin-1")
    while len(text) > 1 and font.getlength(text) > max_width:
        text = text[:-2] + "…" if isinstance(font, ImageFont.FreeTypeFont) else text[:-1]
    return text


def _random_colour(rng: random.Random) -> RGB:
    return (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))


def _average_colour(references: tuple[ReferenceInput, ...]) -> RGB | None:
    """Mean colour of the first reference given as bytes; None if none is, or it is unreadable."""
    reference = next((ref for ref in references if ref.content is not None), None)
    if reference is None or reference.content is None:
        return None
    try:
        with Image.open(io.BytesIO(reference.content)) as source:
            if source.width * source.height > _MAX_REFERENCE_PIXELS:
                return None
            source.draft("RGB", (64, 64))  # JPEG decodes at reduced scale; a no-op otherwise
            sample = source.convert("RGB")
            sample.thumbnail((64, 64))
            red, green, blue = (round(channel) for channel in ImageStat.Stat(sample).mean)
            return (red, green, blue)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None  # a demo tint is not worth failing a generation over
