from django.conf import settings
from django.db import models


class Period(models.TextChoices):
    DAY = "day", "Daily"
    WEEK = "week", "Weekly"
    MONTH = "month", "Monthly"
    NONE = "none", "No reset"


def default_thresholds() -> list[int]:
    return [80, 100]


class Budget(models.Model):
    """A limit in credits over a period on one scope: a team, a member within a team, an API
    key, or a user's personal spending (generations charged to their own wallet).

    What was spent in each period lives in ``BudgetSpend``; a hold must fit every budget that
    applies, in the same transaction as the wallet's hold (``accounts.services.budgets``).
    """

    class Scope(models.TextChoices):
        TEAM = "team", "Team"
        MEMBER = "member", "Member in a team"
        KEY = "key", "API key"
        USER = "user", "Personal spending"

    scope = models.CharField(max_length=8, choices=Scope.choices)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="budgets"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="budgets",
    )
    api_key = models.ForeignKey(
        "accounts.ApiKey", on_delete=models.CASCADE, null=True, blank=True, related_name="budgets"
    )
    limit = models.PositiveBigIntegerField(help_text="Credits that may be spent per period.")
    period = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTH)
    thresholds = models.JSONField(
        default=default_thresholds,
        blank=True,
        help_text="Percentages of the limit at which an alert is sent, once per period.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scope", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        scope="team",
                        team__isnull=False,
                        user__isnull=True,
                        api_key__isnull=True,
                    )
                    | models.Q(
                        scope="member",
                        team__isnull=False,
                        user__isnull=False,
                        api_key__isnull=True,
                    )
                    | models.Q(
                        scope="key", team__isnull=True, user__isnull=True, api_key__isnull=False
                    )
                    | models.Q(
                        scope="user", team__isnull=True, user__isnull=False, api_key__isnull=True
                    )
                ),
                name="budget_scope_names_its_target",
            ),
            models.CheckConstraint(
                condition=models.Q(period__in=["day", "week", "month", "none"]),
                name="budget_period_valid",
            ),
            models.UniqueConstraint(
                fields=["team"], condition=models.Q(scope="team"), name="budget_one_per_team"
            ),
            models.UniqueConstraint(
                fields=["team", "user"],
                condition=models.Q(scope="member"),
                name="budget_one_per_member",
            ),
            models.UniqueConstraint(
                fields=["api_key"], condition=models.Q(scope="key"), name="budget_one_per_key"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(scope="user"), name="budget_one_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_period_display()} budget of {self.limit:,} credits ({self.scope})"


class BudgetSpend(models.Model):
    """What one period of a budget has spent or holds; moved only with a generation's hold,
    in the same transaction, and never past the budget's limit."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="spends")
    period_start = models.DateField(help_text="First day of the period (installation time zone).")
    spent = models.BigIntegerField(default=0, help_text="Credits captured or still held.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(fields=["budget", "period_start"], name="budget_spend_unique"),
            models.CheckConstraint(
                condition=models.Q(spent__gte=0), name="budget_spend_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.spent:,} spent from {self.period_start}"


class BudgetHold(models.Model):
    """A generation's share of a budget period: what it held there and what came back, so a
    release returns to the period it was held in even after the period has ended."""

    spend = models.ForeignKey(BudgetSpend, on_delete=models.CASCADE, related_name="holds")
    generation = models.ForeignKey(
        "generations.Generation", on_delete=models.CASCADE, related_name="budget_holds"
    )
    held = models.BigIntegerField()
    released = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["spend", "generation"], name="budget_hold_unique"),
            models.CheckConstraint(
                condition=models.Q(released__gte=0, released__lte=models.F("held")),
                name="budget_hold_released_within_held",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.held} held, {self.released} released"


class BudgetAlert(models.Model):
    """A threshold crossed in one period of a budget: written once, so it is sent once."""

    spend = models.ForeignKey(BudgetSpend, on_delete=models.CASCADE, related_name="alerts")
    threshold = models.PositiveSmallIntegerField(help_text="Percent of the limit.")
    spent = models.BigIntegerField(help_text="Spent when the threshold was crossed.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["spend", "threshold"], name="budget_alert_once"),
        ]

    def __str__(self) -> str:
        return f"{self.threshold}% of a budget reached"


class Allowance(models.Model):
    """A recurring grant to a wallet, written to the ledger once per period by the scheduler
    (its entries' idempotency key ``allowance:<id>:<period start>`` makes a second run a no-op).
    """

    class Policy(models.TextChoices):
        TOP_UP = "top_up", "Top up to the amount"
        ADD = "add", "Add the amount"

    wallet = models.OneToOneField(
        "accounts.CreditAccount", on_delete=models.CASCADE, related_name="allowance"
    )
    amount = models.PositiveBigIntegerField()
    period = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTH)
    policy = models.CharField(max_length=8, choices=Policy.choices, default=Policy.ADD)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="allowances_created",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_granted_period = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period__in=["day", "week", "month"]),
                name="allowance_period_recurs",
            ),
            models.CheckConstraint(
                condition=models.Q(policy__in=["top_up", "add"]), name="allowance_policy_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_policy_display()}: {self.amount:,} {self.get_period_display().lower()}"
