"""The gallery's view of images: every output image a tile, newest first, a page at a time.

Pages are cut by a cursor on (created_at, id), never by OFFSET: the next page starts right
after the last tile shown, so it costs the same on the thousandth page as on the first, and
an image stored meanwhile neither repeats nor skips a tile.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Exists, OuterRef, Q

from accounts.models import User
from generations.models import Generation, OutputImage, Star
from generations.selectors.generations import GalleryFilters, demo_output_exists, gallery_q

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class ImageCursor:
    """Where a page of images ends: the last tile's time and id (ties broken by id)."""

    created_at: datetime
    id: int

    @property
    def token(self) -> str:
        """For the query string: whole microseconds since 1970 and the id, exact both ways."""
        return f"{(self.created_at - _EPOCH) // _MICROSECOND}-{self.id}"

    @classmethod
    def parse(cls, token: str) -> "ImageCursor | None":
        """The cursor a token names, or None for anything else (the page then starts over)."""
        micros, _, image_id = token.partition("-")
        if not (micros.isdigit() and image_id.isdigit()) or len(micros) > 18:
            return None
        return cls(created_at=_EPOCH + int(micros) * _MICROSECOND, id=int(image_id))


@dataclass(frozen=True)
class ImagePage:
    images: Sequence[OutputImage]
    # Where the next page starts; None on the last page.
    next_cursor: ImageCursor | None


def gallery_image_page(
    *, user: User, filters: GalleryFilters, after: ImageCursor | None, limit: int
) -> ImagePage:
    """One page of the images the gallery's tab and filters show (``gallery_q``: a viewer
    only ever gets images of generations they may see there), in one query.

    Each image comes with its generation and author, ``is_starred`` (by ``user``) and
    ``is_demo`` (a placeholder of the built-in renderer).
    """
    # The rule as EXISTS on the image's generation rather than a filter on the join: databases
    # then walk the images newest first along their index and stop after a page, instead of
    # collecting and sorting every image of the user's (bench/gallery.py: 0.1 ms against
    # 200 ms on SQLite with 100,000 images).
    shown = Generation.objects.filter(
        gallery_q(user=user, filters=filters), pk=OuterRef("generation_id")
    )
    queryset = OutputImage.objects.filter(Exists(shown))
    if after is not None:
        queryset = queryset.filter(
            Q(created_at__lt=after.created_at) | Q(created_at=after.created_at, id__lt=after.id)
        )
    rows = list(
        queryset.select_related("generation__owner")
        # A tile shows none of these; decoding them for 60 rows is most of the query's cost.
        .defer("generation__params", "generation__image_errors", "generation__webhook_events")
        .annotate(
            is_starred=Exists(Star.objects.filter(user=user, generation=OuterRef("generation_id"))),
            is_demo=demo_output_exists(generation="generation_id"),
        )
        .order_by("-created_at", "-id")[: limit + 1]
    )
    images = rows[:limit]
    has_more = len(rows) > limit
    last = images[-1] if images else None
    return ImagePage(
        images=images,
        next_cursor=ImageCursor(created_at=last.created_at, id=last.pk)
        if has_more and last
        else None,
    )
