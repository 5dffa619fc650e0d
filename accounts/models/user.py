from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A teammate. Custom from the first migration so accounts can grow without a swap."""

    max_running = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Generations this user may have queued or running at once; empty: no limit.",
    )
    charge_to = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The team the compose page charges by default; empty: their own wallet",
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
