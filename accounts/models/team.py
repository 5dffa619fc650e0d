from django.conf import settings
from django.db import models


class AccessPolicy(models.Model):
    """What a team's or an API key's generations may ask for; empty fields allow everything.

    Checked before any credit moves (``accounts.services.policies``); the catalog endpoints and
    the compose page show only what every policy that applies allows.
    """

    allowed_models = models.JSONField(
        default=list,
        blank=True,
        help_text="Catalog model ids allowed (e.g. seedream-4.0); empty allows every model.",
    )
    max_size_tier = models.CharField(
        max_length=8,
        blank=True,
        help_text="The largest size tier allowed (1K, 2K, 3K or 4K); empty allows every size.",
    )
    max_images_per_request = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The most images one request may ask for."
    )
    max_running = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Generations that may run at once (queued or running); empty: no limit.",
    )

    class Meta:
        abstract = True


class Team(AccessPolicy):
    """A group of teammates with its own wallet (a ``CreditAccount``), budgets and policy."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    webhook_url = models.URLField(
        max_length=2000,
        blank=True,
        help_text="Signed budget.threshold events are posted here when a budget alert fires.",
    )
    webhook_secret = models.CharField(
        max_length=100,
        blank=True,
        help_text="The whsec_… key its webhook deliveries are signed with (made on first need).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MANAGER = "manager", "Manager"
        MEMBER = "member", "Member"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=["owner", "manager", "member"]),
                name="membership_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def manages(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.MANAGER)
