import uuid

from django.conf import settings
from django.db import models

from generations.models.images import StoredImage


class Upload(StoredImage):
    """An image a teammate uploaded through the API to use later as a reference.

    The id is a random UUID, not a counter, so ids cannot be guessed; even so an upload is only
    ever usable by its owner (``generations.selectors.uploads.upload_get_owned``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads"
    )
    last_used_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When it was last sent as a reference; empty while unused (the quota counts "
        "unused uploads, and the cleanup removes uploads idle for UPLOAD_TTL_H).",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "sha256"])]

    def __str__(self) -> str:
        return f"upload {self.id} of {self.owner_id}"
