"""Uploads: images stored once through the API to be sent later as references by id.

Bounded per user: at most ``UPLOAD_QUOTA_COUNT`` unused uploads and ``UPLOAD_QUOTA_BYTES`` of
them; an upload idle for ``UPLOAD_TTL_H`` hours (never used, or last used that long ago) is
removed by a periodic job. A generation never depends on an upload: its references are stored
as files of its own when it is accepted.
"""

from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from generations.models import Upload
from generations.services.errors import UploadQuotaExceeded
from generations.services.images import image_store, reference_check, storage_file_in_use

MIB = 1024 * 1024
CLEANUP_BATCH = 500


def upload_create(*, user: User, content: bytes) -> Upload:
    """Store an image to use later as a reference, after the checks every reference gets.

    Raises ``ReferenceRejected`` naming the problem, or ``UploadQuotaExceeded`` with the
    numbers. The same bytes uploaded again by the same user answer the first upload (files are
    content-addressed, so nothing is stored twice).
    """
    facts = reference_check(content)
    with transaction.atomic():
        # One upload of a user at a time, so two at once cannot both slip under the quota.
        User.objects.select_for_update().filter(pk=user.pk).first()
        existing = Upload.objects.filter(owner=user, sha256=facts.sha256).first()
        if existing is not None:
            return existing
        _quota_check(user=user, adding=facts.bytes)
        stored = image_store(content=content, folder="uploads", facts=facts)
        return Upload.objects.create(
            owner=user,
            file=stored.name,
            sha256=facts.sha256,
            width=facts.width,
            height=facts.height,
            format=facts.format,
            bytes=facts.bytes,
        )


def _quota_check(*, user: User, adding: int) -> None:
    unused = Upload.objects.filter(owner=user, last_used_at__isnull=True).aggregate(
        count=Count("id"), total=Coalesce(Sum("bytes"), 0)
    )
    count_limit, bytes_limit = settings.UPLOAD_QUOTA_COUNT, settings.UPLOAD_QUOTA_BYTES
    details = {
        "unused_uploads": unused["count"],
        "unused_bytes": unused["total"],
        "max_uploads": count_limit,
        "max_bytes": bytes_limit,
    }
    if unused["count"] + 1 > count_limit:
        raise UploadQuotaExceeded(
            f"You have {unused['count']} uploads not yet used as a reference (at most "
            f"{count_limit}). Use them, or delete some with DELETE /api/v1/uploads/<id>.",
            too_many=True,
            details=details,
        )
    if unused["total"] + adding > bytes_limit:
        raise UploadQuotaExceeded(
            f"Your unused uploads hold {unused['total'] / MIB:.1f} MB; this one "
            f"({adding / MIB:.1f} MB) would pass the {bytes_limit / MIB:.0f} MB allowed. Use "
            "them, or delete some with DELETE /api/v1/uploads/<id>.",
            too_many=False,
            details=details,
        )


def upload_mark_used(*, upload: Upload) -> None:
    """Record that the upload was sent as a reference (it leaves the quota; its idle time
    counts from now)."""
    Upload.objects.filter(pk=upload.pk).update(last_used_at=timezone.now())


def upload_delete(*, upload: Upload) -> None:
    """Remove an upload: its row, and its file unless something else stores the same bytes."""
    name = str(upload.file.name)
    upload.delete()
    if not storage_file_in_use(name):
        default_storage.delete(name)


def uploads_remove_idle() -> int:
    """Remove every upload idle for ``UPLOAD_TTL_H`` hours (never used, or last used that long
    ago); returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.UPLOAD_TTL_H)
    idle = Upload.objects.filter(
        Q(last_used_at__lt=cutoff) | Q(last_used_at__isnull=True, created_at__lt=cutoff)
    )[:CLEANUP_BATCH]
    removed = 0
    for upload in list(idle):
        upload_delete(upload=upload)
        removed += 1
    return removed
