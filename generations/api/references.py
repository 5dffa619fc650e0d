"""Reading the reference images of an API request into bytes.

A reference arrives as an upload id (``{"upload_id": ...}``), an https URL, a data URI, or a
multipart file. Each problem raises ``InvalidReference`` naming the reference's index, before
any credit moves; the bytes then go through the same checks as every reference
(``generation_submit`` -> ``reference_check``).
"""

import base64
import binascii
import uuid
from collections.abc import Sequence

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from accounts.models import User
from generations.api.errors import InvalidReference
from generations.security.fetching import FetchRefused, reference_fetch
from generations.selectors.uploads import upload_get_owned
from generations.services.images import storage_read
from generations.services.uploads import upload_mark_used

FIELD = "references"


def references_read(
    *, user: User, items: Sequence[str | dict[str, str]], files: Sequence[UploadedFile] = ()
) -> list[bytes]:
    """The bytes of each reference in order: ``items`` (JSON or form values), then ``files``."""
    contents = [
        _item_read(user=user, item=item, field=f"{FIELD}[{index}]")
        for index, item in enumerate(items)
    ]
    for offset, upload in enumerate(files, start=len(items)):
        contents.append(file_read(upload, field=f"{FIELD}[{offset}]"))
    return contents


def file_read(upload: UploadedFile, *, field: str) -> bytes:
    """A multipart file's bytes, refused by its declared size before anything is read."""
    limit = settings.REFERENCE_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise InvalidReference(field, _too_large_message(upload.size))
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise InvalidReference(field, _too_large_message(len(content)))
    return content


def _item_read(*, user: User, item: str | dict[str, str], field: str) -> bytes:
    if isinstance(item, dict):
        return _upload_read(user=user, upload_id=item["upload_id"], field=field)
    if item[:5].lower() == "data:":
        return data_uri_decode(item, field=field)
    if item[:8].lower() == "https://":
        try:
            return reference_fetch(item)
        except FetchRefused as error:
            raise InvalidReference(field, str(error)) from error
    if item[:7].lower() == "http://":
        raise InvalidReference(field, "Reference URLs must use https://.")
    raise InvalidReference(
        field,
        'Send {"upload_id": "<id>"}, an https:// URL or a data: URI (data:image/png;base64,…).',
    )


def _upload_read(*, user: User, upload_id: str, field: str) -> bytes:
    try:
        uuid.UUID(upload_id)
    except ValueError:
        upload = None
    else:
        upload = upload_get_owned(user=user, upload_id=upload_id)
    if upload is None:
        raise InvalidReference(
            field,
            f"There is no upload {upload_id!r} of yours. Upload the image with "
            "POST /api/v1/uploads and send the id it answers.",
        )
    upload_mark_used(upload=upload)
    return storage_read(str(upload.file.name))


def data_uri_decode(uri: str, *, field: str) -> bytes:
    """Bytes of a ``data:[<type>];base64,<data>`` URI, refusing an oversized one before
    decoding it (the encoded length tells the decoded size)."""
    header, separator, payload = uri.partition(",")
    if not separator or not header.lower().endswith(";base64"):
        raise InvalidReference(
            field, "A data URI must be base64-encoded: data:image/png;base64,<data>."
        )
    limit = settings.REFERENCE_MAX_BYTES
    # Every 4 base64 characters carry 3 bytes.
    if len(payload) // 4 * 3 > limit + 3:
        raise InvalidReference(field, _too_large_message(len(payload) // 4 * 3))
    try:
        content = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidReference(
            field, "The data URI's base64 is not valid; encode the file's bytes with base64."
        ) from error
    if len(content) > limit:
        raise InvalidReference(field, _too_large_message(len(content)))
    if not content:
        raise InvalidReference(field, "The data URI holds no data.")
    return content


def _too_large_message(size: int) -> str:
    limit = settings.REFERENCE_MAX_BYTES
    return (
        f"A reference image may be at most {limit // (1024 * 1024)} MB; "
        f"this one is {size / (1024 * 1024):.1f} MB."
    )
