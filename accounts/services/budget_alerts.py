"""Budget alerts: a threshold (default 80% and 100%) crossed in a budget's period is recorded
once (``BudgetAlert``, unique per period and threshold) by the hold that crossed it, with an
audit event in the same transaction; the notices it sends go out after the commit.

What an alert says is written here once, for the mail, the webhook and the workspace notice
(``budget_alert_notice``). The mail goes to whoever answers for the budget: a team's and a
member's budget to the team's owners and managers, a key's to the key's owner, a personal one
to its user. A mail is sent once per alert: the delivery is recorded in the audit trail
(``budget.alert_mailed``, on the alert) under a lock on the alert's row, so a redelivered or
duplicate task finds it done. The database, not the cache, keeps that record: it outlives a
cache flush or eviction, and staff see in the audit log who was told and when.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ..mail import mail_send
from ..models import AuditEvent, Budget, BudgetAlert, Membership, User
from .audit import audit_record
from .budgets import Crossing, PeriodBounds, budget_label, budget_period_word, period_bounds

MAILED = "budget.alert_mailed"
MAIL_TEMPLATE = "mail/budget_alert"


def budget_alerts_record(crossings: Sequence[Crossing]) -> None:
    for crossing in crossings:
        budget = crossing.budget
        audit_record(
            actor=None,
            action="budget.threshold",
            target=budget,
            after={
                "budget": budget_label(budget),
                "threshold": crossing.alert.threshold,
                "spent": crossing.alert.spent,
                "limit": budget.limit,
                "period_start": crossing.bounds.start.isoformat(),
            },
        )


# --- what an alert says -----------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetAlertNotice:
    """An alert as one reader sees it: "Team Design has used 80% of its monthly budget"."""

    alert: BudgetAlert
    budget: Budget
    bounds: PeriodBounds  # the period the alert belongs to
    spent: int
    headline: str

    @property
    def threshold(self) -> int:
        return self.alert.threshold

    @property
    def reached(self) -> bool:
        """The limit itself is reached: what it applies to is refused until the reset."""
        return self.alert.threshold >= 100

    @property
    def resets(self) -> str:
        if self.bounds.end is None:
            return "does not reset"
        return f"resets {self.bounds.end.day} {self.bounds.end:%B}"

    @property
    def figures(self) -> str:
        return f"{self.spent:,} of {self.budget.limit:,} credits"

    @property
    def sentence(self) -> str:
        """The headline with the figures, for the workspace notice."""
        return f"{self.headline} ({self.figures}; {self.resets})."

    @property
    def page_path(self) -> str:
        """Where the reader sees the spending and what to do: the team's page for a team's or
        a member's budget, the keys page for a key's, the credits page for a personal one."""
        if self.budget.scope in (Budget.Scope.TEAM, Budget.Scope.MEMBER):
            return f"/teams/{self.budget.team.slug}/"  # type: ignore[union-attr]
        if self.budget.scope == Budget.Scope.KEY:
            return reverse("account-keys")
        return reverse("account-credits")


def budget_alert_notice(
    *, alert: BudgetAlert, viewer: User | None = None, spent: int | None = None
) -> BudgetAlertNotice:
    """What ``alert`` says to ``viewer`` ("You have used …" when the budget is theirs), with
    ``spent`` (default: what was spent when the threshold was crossed)."""
    budget = alert.spend.budget
    return BudgetAlertNotice(
        alert=alert,
        budget=budget,
        bounds=_bounds_of(budget, alert.spend.period_start),
        spent=alert.spent if spent is None else spent,
        headline=_headline(budget=budget, threshold=alert.threshold, viewer=viewer),
    )


def _bounds_of(budget: Budget, period_start: datetime.date) -> PeriodBounds:
    # Midday of the period's first day is inside the period in every time zone and season.
    midday = timezone.make_aware(datetime.datetime.combine(period_start, datetime.time(12)))
    return period_bounds(budget.period, midday)


def _headline(*, budget: Budget, threshold: int, viewer: User | None) -> str:
    period = budget_period_word(budget)
    used = f"{threshold}%"
    viewer_id = viewer.pk if viewer is not None else None
    if budget.scope == Budget.Scope.TEAM:
        return f"Team {budget.team} has used {used} of its {period} budget"
    if budget.scope == Budget.Scope.MEMBER:
        if budget.user_id == viewer_id:
            return f"You have used {used} of your {period} budget in team {budget.team}"
        return f"{budget.user} has used {used} of their {period} budget in team {budget.team}"
    if budget.scope == Budget.Scope.KEY and budget.api_key is not None:
        key = f"API key “{budget.api_key.name}”"
        if budget.api_key.user_id == viewer_id:
            return f"Your {key} has used {used} of its {period} budget"
        return f"{key} of {budget.api_key.user} has used {used} of its {period} budget"
    if budget.user_id == viewer_id:
        return f"You have used {used} of your personal {period} budget"
    return f"{budget.user} has used {used} of their personal {period} budget"


# --- the mail ---------------------------------------------------------------------------------


def budget_alert_recipients(budget: Budget) -> list[User]:
    """Who is mailed: the team's owners and managers for a team's or a member's budget, the
    key's owner for a key's, the user for a personal one; active users with an address only."""
    if budget.scope in (Budget.Scope.TEAM, Budget.Scope.MEMBER):
        users = User.objects.filter(
            memberships__team=budget.team,
            memberships__role__in=[Membership.Role.OWNER, Membership.Role.MANAGER],
        ).order_by("username")
    elif budget.scope == Budget.Scope.KEY:
        users = User.objects.filter(api_keys__budgets=budget)
    else:
        users = User.objects.filter(budgets=budget)
    return list(users.filter(is_active=True).exclude(email=""))


def budget_alert_mail(*, alert_id: int) -> bool:
    """Mail the alert to its recipients, once: True when this call sent it.

    Holds the alert's row lock from the check to the record, so two deliveries of one alert
    queue there and the second finds ``budget.alert_mailed``. A mail server's refusal raises
    (nothing is recorded; the task retries). A worker lost between the send and the commit
    sends it again on redelivery: at least once, and only then twice.
    """
    with transaction.atomic():
        alert = (
            BudgetAlert.objects.select_for_update(of=("self",))
            .select_related(
                "spend__budget__team", "spend__budget__user", "spend__budget__api_key__user"
            )
            .filter(pk=alert_id)
            .first()
        )
        if alert is None or budget_alert_done(alert=alert, action=MAILED):
            return False
        budget = alert.spend.budget
        recipients = budget_alert_recipients(budget)
        personal = len(recipients) == 1 and _answers_alone(budget, recipients[0])
        notice = budget_alert_notice(alert=alert, viewer=recipients[0] if personal else None)
        if recipients:
            mail_send(
                template_prefix=MAIL_TEMPLATE,
                to=[user.email for user in recipients],
                context={
                    "notice": notice,
                    "budget_label": budget_label(budget),
                    "page_url": settings.PUBLIC_BASE_URL.rstrip("/") + notice.page_path,
                },
            )
        audit_record(
            actor=None,
            action=MAILED,
            target=alert,
            after={
                "budget": budget_label(budget),
                "threshold": alert.threshold,
                "to": [user.get_username() for user in recipients],
            },
        )
    return bool(recipients)


def _answers_alone(budget: Budget, user: User) -> bool:
    """The recipient is the one whose budget it is (written to as "you")."""
    if budget.scope == Budget.Scope.KEY:
        return budget.api_key is not None and budget.api_key.user_id == user.pk
    return budget.scope == Budget.Scope.USER and budget.user_id == user.pk


def budget_alert_done(*, alert: BudgetAlert, action: str) -> bool:
    """Whether the audit trail records ``action`` (a delivery) for the alert."""
    return AuditEvent.objects.filter(
        action=action, target_type=alert._meta.label_lower, target_id=str(alert.pk)
    ).exists()
