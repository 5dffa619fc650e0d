from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q


class Invitation(models.Model):
    """A mailed offer of an account: accepted once, before it expires, unless revoked.

    The mail carries a signed link naming the invitation and how many times it was sent
    (``send_count``): resending makes the earlier links useless. An invitation may later also
    name a team and a role in it; acceptance is the one place that would add the membership.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    # Stored lower-case (the service normalises it), so the constraint below is case-blind.
    email = models.EmailField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    is_staff = models.BooleanField(default=False, help_text="The new account is staff.")
    credits = models.PositiveIntegerField(default=0, help_text="Granted on acceptance.")
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="invitations",
        help_text="The new account joins this team on acceptance.",
    )
    team_role = models.CharField(
        max_length=16,
        choices=[("owner", "Owner"), ("manager", "Manager"), ("member", "Member")],
        default="member",
        help_text="Its role in the team.",
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations_sent",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    send_count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitation",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                condition=Q(status="pending"),
                name="invitation_one_pending_per_email",
            ),
            models.CheckConstraint(
                condition=Q(status="pending")
                | Q(accepted_at__isnull=False)
                | Q(revoked_at__isnull=False),
                name="invitation_closed_has_a_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    def is_open(self, *, now: datetime) -> bool:
        """Pending and not yet expired at ``now``."""
        return self.status == self.Status.PENDING and self.expires_at > now
