"""Image files for the pages: one image (shown or downloaded), a reference, or all as a zip.

Every file is read through ``default_storage`` and only for someone who may see its
generation; signed links for clients without a session live in ``media_signed`` (outputs) and
``media_reference_signed`` (references, fetched by providers that take only URLs).
"""

import io
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponseForbidden,
)
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from generations.models import OutputImage, ReferenceImage
from generations.pages.common import AuthenticatedHttpRequest, generation_or_404
from generations.runtime.db import db_release
from generations.security.signed_links import (
    VARIANT_THUMBNAIL,
    LinkCheck,
    link_check,
    reference_link_check,
)
from generations.selectors.generations import output_get_visible, references_get_visible
from generations.services.images import PREVIEW_WIDTHS, preview_store
from studio_core.streaming import ThreadedStreamingHttpResponse

# Read and write the zip in pieces of this size, so memory stays flat whatever the images weigh.
ZIP_CHUNK_BYTES = 256 * 1024
EXTENSIONS = {"jpeg": "jpg"}
FILENAME_WORDS_MAX = 48


def download_name(output: OutputImage) -> str:
    """``seedream-<short id>-<n>-<prompt words>.jpg``: sortable, and says what it shows."""
    words = slugify(output.generation.prompt)
    if len(words) > FILENAME_WORDS_MAX:
        # Cut at a word boundary: "soft-morning-lig" reads worse than "soft-morning".
        words = words[: FILENAME_WORDS_MAX + 1].rsplit("-", 1)[0]
    words = words.strip("-") or "image"
    extension = EXTENSIONS.get(output.format, output.format)
    return f"seedream-{str(output.generation_id)[:8]}-{output.index + 1:02d}-{words}.{extension}"


@login_required
@require_GET
def output_file(request: AuthenticatedHttpRequest, output_id: int, variant: str) -> FileResponse:
    """An output image or its thumbnail; ``?download=1`` asks the browser to save the image."""
    output = output_get_visible(user=request.user, output_id=output_id)
    if output is None:
        raise Http404("No such image.")
    is_thumbnail = variant == VARIANT_THUMBNAIL
    name = (output.thumbnail.name if is_thumbnail else output.file.name) or ""
    if not name or not default_storage.exists(name):
        raise Http404("No such image.")
    download = not is_thumbnail and request.GET.get("download") == "1"
    response = FileResponse(
        default_storage.open(name, "rb"),
        as_attachment=download,
        filename=download_name(output) if download else "",
    )
    response["Content-Type"] = "image/jpeg" if is_thumbnail else f"image/{output.format}"
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
@require_GET
def output_preview(request: AuthenticatedHttpRequest, output_id: int, width: int) -> FileResponse:
    """An output's WebP preview ``width`` px wide (``PREVIEW_WIDTHS`` only), for gallery tiles:
    made on first request from the original, then served from storage."""
    output = output_get_visible(user=request.user, output_id=output_id)
    if output is None or width not in PREVIEW_WIDTHS or not output.file.name:
        raise Http404("No such image.")
    try:
        name = preview_store(source_name=output.file.name, source_sha256=output.sha256, width=width)
    except OSError as error:  # the original is gone or unreadable (UnidentifiedImageError too)
        raise Http404("No such image.") from error
    response = FileResponse(default_storage.open(name, "rb"))
    response["Content-Type"] = "image/webp"
    # The preview of an id never changes (its image's bytes never do).
    response["Cache-Control"] = "private, max-age=604800"
    return response


@login_required
@require_GET
def reference_file(request: AuthenticatedHttpRequest, reference_id: int) -> FileResponse:
    """A reference image of a generation the user may see (compose previews, detail page)."""
    reference = references_get_visible(user=request.user, reference_ids=[reference_id]).get(
        reference_id
    )
    name = reference.file.name if reference is not None else ""
    if reference is None or not name or not default_storage.exists(name):
        raise Http404("No such image.")
    response = FileResponse(default_storage.open(name, "rb"))
    response["Content-Type"] = f"image/{reference.format}"
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
@require_GET
def generation_zip(request: AuthenticatedHttpRequest, generation_id: str) -> HttpResponseBase:
    """All images of a generation as one zip, streamed as it is built."""
    generation = generation_or_404(request, generation_id)
    response = outputs_zip_response(
        generation.outputs.all(), filename=f"seedream-{str(generation.id)[:8]}.zip"
    )
    if response is None:
        raise Http404("This generation has no images to download.")
    return response


def outputs_zip_response(
    outputs: Iterable[OutputImage], *, filename: str
) -> ThreadedStreamingHttpResponse | None:
    """``outputs`` (already checked as visible to the viewer) as one zip, streamed as it is
    built; None when none of them has a file left in storage."""
    stored = [
        output
        for output in outputs
        if output.file.name and default_storage.exists(output.file.name)
    ]
    if not stored:
        return None
    response = ThreadedStreamingHttpResponse(_zip_chunks(stored), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


class _ZipSink(io.RawIOBase):
    """A write-only, unseekable stream: ``zipfile`` writes into it, the response drains it.

    Not seekable on purpose: ``zipfile`` then writes each entry's sizes after its data (data
    descriptors), so nothing has to be held back or rewritten.
    """

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def _zip_chunks(outputs: Sequence[OutputImage]) -> Iterator[bytes]:
    """The archive in pieces of about ``ZIP_CHUNK_BYTES``: one read of a stored file, deflated
    and drained, at a time, so no more than a chunk or two is ever held."""
    # Only storage from here on: the download may take minutes, and the connection the view
    # used would sit idle in the pool's reach all that time.
    db_release()
    sink = _ZipSink()
    # Deflate at level 1: JPEG/PNG barely shrink, but a stored entry with a trailing data
    # descriptor is one some unzip tools cannot read, and level 1 costs little.
    with zipfile.ZipFile(
        sink, mode="w", compression=zipfile.ZIP_DEFLATED, compresslevel=1
    ) as archive:
        for output in outputs:
            info = zipfile.ZipInfo(
                download_name(output),
                date_time=timezone.localtime(output.created_at).timetuple()[:6],
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            with (
                default_storage.open(output.file.name or "", "rb") as source,
                archive.open(info, mode="w") as target,
            ):
                while chunk := source.read(ZIP_CHUNK_BYTES):
                    target.write(chunk)
                    if piece := sink.drain():
                        yield piece
            # The entry's data descriptor, written as ``target`` closes.
            if piece := sink.drain():
                yield piece
    # The central directory, written as ``archive`` closes.
    if piece := sink.drain():
        yield piece


@require_GET
def media_signed(request: HttpRequest, output_id: int, variant: str) -> HttpResponseBase:
    """An output image behind a signed, expiring link (``generations.security.signed_links``).

    No session: the signature is the permission. It binds the id, the variant and the expiry,
    so a 403 is all a guesser ever sees, whether the image exists or not.
    """
    check = link_check(
        output_id=output_id,
        variant=variant,
        exp=request.GET.get("exp", ""),
        sig=request.GET.get("sig", ""),
        now=time.time(),
    )
    if not check.valid:
        return HttpResponseForbidden(check.problem, content_type="text/plain; charset=utf-8")
    # A deleted generation's links die with it, even before its files are removed.
    output = OutputImage.objects.filter(pk=output_id, generation__deleted_at__isnull=True).first()
    if output is None:
        raise Http404("No such image.")
    is_thumbnail = variant == VARIANT_THUMBNAIL
    name = output.thumbnail.name if is_thumbnail else output.file.name
    mime = "image/jpeg" if is_thumbnail else f"image/{output.format}"
    return _signed_file_response(name, mime=mime, check=check)


@require_GET
def media_reference_signed(request: HttpRequest, reference_id: int) -> HttpResponseBase:
    """A reference image behind a signed, expiring link (``media_links.reference_link``), for a
    provider to fetch. As ``media_signed``: the signature is the permission."""
    check = reference_link_check(
        reference_id=reference_id,
        exp=request.GET.get("exp", ""),
        sig=request.GET.get("sig", ""),
        now=time.time(),
    )
    if not check.valid:
        return HttpResponseForbidden(check.problem, content_type="text/plain; charset=utf-8")
    reference = ReferenceImage.objects.filter(
        pk=reference_id, generation__deleted_at__isnull=True
    ).first()
    if reference is None:
        raise Http404("No such image.")
    return _signed_file_response(reference.file.name, mime=f"image/{reference.format}", check=check)


def _signed_file_response(name: str | None, *, mime: str, check: LinkCheck) -> FileResponse:
    if not name or not default_storage.exists(name):
        raise Http404("No such image.")
    response = FileResponse(default_storage.open(name, "rb"))
    response["Content-Type"] = mime
    # Shared caches must not keep it, and the browser no longer than the link is valid.
    response["Cache-Control"] = f"private, max-age={check.remaining_s}"
    return response
