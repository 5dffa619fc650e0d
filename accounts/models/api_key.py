from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from .team import AccessPolicy


class ApiKey(AccessPolicy):
    """A secret a teammate's scripts send as ``Authorization: Bearer <key>``.

    Only the public prefix and a sha256 of the whole key are kept; the key itself is shown once.
    A key bound to a team always charges the team's wallet; its policy narrows what it may ask.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_keys",
        help_text="When set, every generation made with this key is charged to this team.",
    )
    prefix = models.CharField(max_length=32, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_expired(self, at: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (at or timezone.now())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_active(self, at: datetime | None = None) -> bool:
        return not self.is_revoked and not self.is_expired(at)
