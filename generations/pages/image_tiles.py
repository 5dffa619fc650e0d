"""What a tile of the gallery's view of images shows, worked out in Python once per page.

Each tile has a dozen links and labels; built here (each route reversed once per page, not
once per tile) the page of 60 renders in a few milliseconds rather than a hundred.

A tile's share of its row follows its aspect ratio, rounded to steps of 1/20 from 1:4
(class ``ar-5``) to 4:1 (``ar-80``): static/css/studio.css has one rule per step, so the
layout is set by a class before any image arrives (no style attribute under the CSP).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.urls import reverse

from accounts.models import User
from generations.models import OutputImage
from generations.services.images import PREVIEW_WIDTHS

ASPECT_STEPS_PER_UNIT = 20
ASPECT_STEP_MIN, ASPECT_STEP_MAX = 5, 80
# The rows' heights in studio.css (phone, wider), and about how much a tile grows to fill one.
TILE_ROW_PX_PHONE, TILE_ROW_PX = 110, 220
TILE_GROWTH = 1.25
# Stands for the id in a route reversed once; no real id is this long.
_ID = "4242424242"
_UUID = "42424242-4242-4242-4242-424242424242"


def aspect_step(width: int, height: int) -> int:
    if width <= 0 or height <= 0:
        return ASPECT_STEPS_PER_UNIT
    step = round(width / height * ASPECT_STEPS_PER_UNIT)
    return min(max(step, ASPECT_STEP_MIN), ASPECT_STEP_MAX)


def tile_sizes(step: int) -> str:
    """The ``sizes`` of a tile's ``srcset``: about how wide the tile shows, in CSS pixels."""
    ratio = step / ASPECT_STEPS_PER_UNIT
    phone = round(ratio * TILE_ROW_PX_PHONE * TILE_GROWTH)
    wide = round(ratio * TILE_ROW_PX * TILE_GROWTH)
    return f"(max-width: 640px) {phone}px, {wide}px"


def _shortened(text: str, length: int) -> str:
    """``text`` cut to ``length`` characters with an ellipsis (``truncatechars``, faster)."""
    return text if len(text) <= length else f"{text[: length - 1].rstrip()}…"


def _route(name: str, key: str, placeholder: str, **kwargs: object) -> Callable[[object], str]:
    """Reverse route ``name`` once; the function fills in the value of ``key``."""
    pattern = reverse(name, kwargs={**kwargs, key: placeholder})
    return lambda value: pattern.replace(placeholder, str(value))


@dataclass(frozen=True)
class ImageTile:
    output_id: int
    generation_id: str
    # "image-tile ar-N", and " is-starred" for a starred one.
    classes: str
    sizes: str
    width: int
    height: int
    starred: bool
    owned: str  # "1" when the viewer owns it (may delete it), else "0"
    number: int  # the image's place in its generation, from 1
    prompt_short: str
    alt: str
    caption: str
    file_url: str
    preview_url: str
    srcset: str
    detail_url: str
    star_url: str
    board_url: str


def image_tiles(
    images: Sequence[OutputImage], *, viewer: User, detail_query: str = ""
) -> list[ImageTile]:
    """The tiles of ``images`` (from ``gallery_image_page``: generation, author, is_starred
    and is_demo at hand). ``detail_query`` is the gallery the detail page was opened from
    (``gallery_link``), so its previous/next walk the same list."""
    file_url = _route("output-file", "output_id", _ID)
    previews = {
        width: _route("output-preview", "output_id", _ID, width=width) for width in PREVIEW_WIDTHS
    }
    detail_url = _route("generation-detail", "generation_id", _UUID)
    star_url = _route("generation-star", "generation_id", _UUID)
    board_url = _route("board-item-add", "generation_id", _UUID)
    smallest = PREVIEW_WIDTHS[0]
    tiles = []
    for image in images:
        generation = image.generation
        step = aspect_step(image.width, image.height)
        demo = bool(getattr(image, "is_demo", False))
        starred = bool(getattr(image, "is_starred", False))
        number = image.index + 1
        prompt = generation.prompt
        author = generation.owner.get_username()
        tiles.append(
            ImageTile(
                output_id=image.pk,
                generation_id=str(generation.pk),
                classes=f"image-tile ar-{step}{' is-starred' if starred else ''}",
                sizes=tile_sizes(step),
                width=image.width,
                height=image.height,
                starred=starred,
                owned="1" if generation.owner_id == viewer.pk else "0",
                number=number,
                prompt_short=_shortened(prompt, 60),
                alt=f"{'Demo placeholder — ' if demo else ''}Image {number} of: "
                f"{_shortened(prompt, 80)}",
                caption=f"{'Demo placeholder · ' if demo else ''}{_shortened(prompt, 120)} · "
                f"{image.width}\N{MULTIPLICATION SIGN}{image.height} · {author}",
                file_url=file_url(image.pk),
                preview_url=previews[smallest](image.pk),
                srcset=", ".join(
                    f"{previews[width](image.pk)} {width}w" for width in PREVIEW_WIDTHS
                ),
                detail_url=(
                    f"{detail_url(generation.pk)}{'?' + detail_query if detail_query else ''}"
                    f"#image-{image.index}"
                ),
                star_url=star_url(generation.pk),
                board_url=board_url(generation.pk),
            )
        )
    return tiles
