from django.conf import settings
from django.db import models


class CreditAccount(models.Model):
    """A wallet: a teammate's own balance or a team's. Changed only by
    ``accounts.services.credits``, always with an entry.

    ``available`` can be spent; ``held`` is reserved for generations still running. Exactly one
    of ``user`` and ``team`` owns it.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_account",
    )
    team = models.OneToOneField(
        "accounts.Team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="wallet",
    )
    available = models.BigIntegerField(default=0)
    held = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "wallet"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(available__gte=0), name="wallet_available_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(held__gte=0), name="wallet_held_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, team__isnull=True)
                | models.Q(user__isnull=True, team__isnull=False),
                name="wallet_has_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner_label}: {self.available} available, {self.held} held"

    @property
    def owner_label(self) -> str:
        if self.team_id is not None:
            return f"Team {self.team}"
        return str(self.user)


class CreditEntry(models.Model):
    """One append-only line of the ledger.

    ``amount`` is the signed change to ``available`` and ``held_change`` the signed change to
    ``held``; an account's balances always equal the sums of its entries.
    """

    class Kind(models.TextChoices):
        GRANT = "grant", "Grant"
        HOLD = "hold", "Hold"
        CAPTURE = "capture", "Capture"
        RELEASE = "release", "Release"
        REFUND = "refund", "Refund"
        ADJUST = "adjust", "Adjust"

    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.BigIntegerField(help_text="Change to the available balance.")
    held_change = models.BigIntegerField(default=0, help_text="Change to the held balance.")
    available_after = models.BigIntegerField()
    held_after = models.BigIntegerField()
    generation = models.ForeignKey(
        "generations.Generation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_entries",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_entries_made",
    )
    memo = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit entries"
        indexes = [models.Index(fields=["account", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(available_after__gte=0) & models.Q(held_after__gte=0),
                name="credit_entry_balances_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount:+} ({self.account_id})"
