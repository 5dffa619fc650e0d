"""Image files in our storage: inspect bytes safely, store them by content hash, thumbnail them.

Every file goes through Django's storage API (the ``STORAGES`` setting), never a path, so the
same code writes to local disk or S3.
"""

import hashlib
import io
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Q
from PIL import Image, UnidentifiedImageError

from generations.models import OutputImage, ReferenceImage, Upload
from generations.services.errors import ReferenceRejected

FORMAT_EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif", "bmp": "bmp"}
REFERENCE_FORMATS = frozenset({"jpeg", "png", "webp", "bmp", "tiff", "gif"})
# Provider input rules (providers.md §1.3): each side > 14 px, at most 36,000,000 px,
# aspect ratio within [1/16, 16].
REFERENCE_MIN_SIDE = 15
REFERENCE_MAX_PIXELS = 36_000_000
REFERENCE_MAX_ASPECT = 16.0


@dataclass(frozen=True)
class ImageFacts:
    sha256: str
    width: int
    height: int
    format: str
    bytes: int

    @property
    def extension(self) -> str:
        return FORMAT_EXTENSIONS.get(self.format, self.format)


@dataclass(frozen=True)
class StoredFile:
    name: str
    facts: ImageFacts


def image_inspect(content: bytes) -> ImageFacts:
    """Read an image's facts from its header and verify it decodes, without risking a bomb.

    Raises ``ReferenceRejected`` for anything that is not a readable image within the pixel cap.
    """
    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            if width * height > settings.IMAGE_MAX_PIXELS:
                raise ReferenceRejected(
                    f"The image is {width}x{height} ({width * height:,} pixels); "
                    f"the limit is {settings.IMAGE_MAX_PIXELS:,} pixels."
                )
            image_format = (image.format or "").lower()
            image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as error:
        raise ReferenceRejected(
            "The file is not a readable image; send a JPEG, PNG or WebP file."
        ) from error
    return ImageFacts(
        sha256=hashlib.sha256(content).hexdigest(),
        width=width,
        height=height,
        format=image_format,
        bytes=len(content),
    )


def reference_check(content: bytes) -> ImageFacts:
    """Facts of a reference image, after the checks every provider applies to inputs."""
    if len(content) > settings.REFERENCE_MAX_BYTES:
        raise ReferenceRejected(
            f"A reference image may be at most {settings.REFERENCE_MAX_BYTES // (1024 * 1024)} MB;"
            f" this one is {len(content) / (1024 * 1024):.1f} MB."
        )
    facts = image_inspect(content)
    if facts.format not in REFERENCE_FORMATS:
        raise ReferenceRejected(
            f"Reference images must be JPEG, PNG, WebP, BMP, TIFF or GIF; got {facts.format}."
        )
    if min(facts.width, facts.height) < REFERENCE_MIN_SIDE:
        raise ReferenceRejected(
            f"Each side of a reference image must be at least {REFERENCE_MIN_SIDE} px; "
            f"got {facts.width}x{facts.height}."
        )
    if facts.width * facts.height > REFERENCE_MAX_PIXELS:
        raise ReferenceRejected(
            f"A reference image may have at most {REFERENCE_MAX_PIXELS:,} pixels; "
            f"{facts.width}x{facts.height} has {facts.width * facts.height:,}."
        )
    aspect = facts.width / facts.height
    if not 1 / REFERENCE_MAX_ASPECT <= aspect <= REFERENCE_MAX_ASPECT:
        raise ReferenceRejected(
            f"A reference image's aspect ratio must be between 1:16 and 16:1; "
            f"{facts.width}x{facts.height} is outside it."
        )
    return facts


def image_store(*, content: bytes, folder: str, facts: ImageFacts | None = None) -> StoredFile:
    """Save bytes under a content-hash name; the same bytes are stored once."""
    facts = facts or image_inspect(content)
    name = f"{folder}/{facts.sha256[:2]}/{facts.sha256}.{facts.extension}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(content))
    return StoredFile(name=name, facts=facts)


def thumbnail_store(*, content: bytes, source_sha256: str) -> str:
    """A JPEG no larger than THUMBNAIL_MAX_SIDE on its longest side; returns its storage name."""
    name = f"thumbnails/{source_sha256[:2]}/{source_sha256}.jpg"
    if default_storage.exists(name):
        return name
    with Image.open(io.BytesIO(content)) as image:
        side = settings.THUMBNAIL_MAX_SIDE
        # JPEG can decode straight at 1/2, 1/4 or 1/8 scale: far cheaper than a full decode
        # of a 4K image only to shrink it (a no-op for other formats).
        image.draft("RGB", (side, side))
        image.thumbnail((side, side))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=85)
    return default_storage.save(name, ContentFile(buffer.getvalue()))


def storage_read(name: str) -> bytes:
    with default_storage.open(name, "rb") as stored:
        return stored.read()


def storage_file_in_use(name: str, *, ignoring_generation_id: str | None = None) -> bool:
    """Whether a stored file is still used: files are content-addressed, so the same bytes of
    a live generation's image or reference, or of an upload, share one name. The rows of
    ``ignoring_generation_id`` (one being removed) do not count."""
    live = Q(generation__deleted_at__isnull=True)
    if ignoring_generation_id is not None:
        live &= ~Q(generation_id=ignoring_generation_id)
    return (
        OutputImage.objects.filter(live, Q(file=name) | Q(thumbnail=name)).exists()
        or ReferenceImage.objects.filter(live, file=name).exists()
        or Upload.objects.filter(file=name).exists()
    )


# The widths of an output's WebP previews (the gallery's tiles, with ``srcset``): two, so a
# request can never make the server render an image at a size of its choosing.
PREVIEW_WIDTHS = (320, 640)
PREVIEW_QUALITY = 78


def preview_name(*, source_sha256: str, width: int) -> str:
    return f"previews/{source_sha256[:2]}/{source_sha256}-{width}.webp"


def preview_names(source_sha256: str) -> list[str]:
    """Every preview an image of these bytes may have (for removing them with it)."""
    return [preview_name(source_sha256=source_sha256, width=width) for width in PREVIEW_WIDTHS]


def preview_store(*, source_name: str, source_sha256: str, width: int) -> str:
    """The WebP preview ``width`` px wide (never wider than the original) of a stored image,
    made from the original the first time it is asked for and kept in storage after that;
    returns its storage name. ``width`` must be one of ``PREVIEW_WIDTHS``.

    Two requests racing to make the same preview both write it; the loser's copy (saved under
    another name by the storage) is removed, so one file remains.
    """
    if width not in PREVIEW_WIDTHS:
        raise ValueError(f"No preview {width} px wide; the widths are {PREVIEW_WIDTHS}.")
    name = preview_name(source_sha256=source_sha256, width=width)
    if default_storage.exists(name):
        return name
    with default_storage.open(source_name, "rb") as source, Image.open(source) as image:
        height = max(1, round(image.height * min(width, image.width) / image.width))
        # As for thumbnails: let JPEG decode at a fraction of its size first.
        image.draft("RGB", (width, height))
        image.thumbnail((width, height))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="WEBP", quality=PREVIEW_QUALITY, method=4)
    saved = default_storage.save(name, ContentFile(buffer.getvalue()))
    if saved != name:
        default_storage.delete(saved)
    return name
