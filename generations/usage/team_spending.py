"""A team's spending this period, for its team page and CSV: the usage report of its wallet.

The figures are ``usage_report`` filtered to the team (grouped by user and model), so the team
page and the admin report read the same ledger entries the same way and cannot disagree: a
generation counts in the period it was created in, with the credits its ledger captured.

The period is the team budget's (a calendar month when the team has no budget, or the budget
never resets: then everything so far).
"""

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import Budget, Membership, Period, Team
from accounts.services.budgets import BudgetStanding, PeriodBounds, period_bounds
from generations.usage.dimensions import day_bounds
from generations.usage.report import UsageFigures, UsageRow, usage_report

# Every (member, model) pair of a team fits; the report's page limit is for staff's groupings.
MAX_GROUPS = 100_000


BUDGET_PERIOD_NOTES: dict[str, str] = {
    Period.DAY: "today",
    Period.WEEK: "this week",
    Period.MONTH: "this month",
    Period.NONE: "in all (no reset)",
}


@dataclass(frozen=True)
class MemberSpending:
    user_id: int
    username: str
    role: str  # "" for someone who spent in the period and has left the team since
    figures: UsageFigures
    budget: Budget | None
    # The member budget's standing, when its period is not the report's (a weekly budget in a
    # monthly report): the bar then shows the budget's own period.
    standing: BudgetStanding | None

    @property
    def spent(self) -> int:
        return self.figures.credits_captured

    @property
    def bar_value(self) -> int:
        return self.standing.spent if self.standing is not None else self.spent

    @property
    def bar_note(self) -> str:
        """When the bar is the budget's own period, which one."""
        if self.standing is None or self.budget is None:
            return ""
        return BUDGET_PERIOD_NOTES.get(self.budget.period, "")

    @property
    def bar_percent(self) -> int:
        if self.budget is None:
            return 0
        if not self.budget.limit:
            return 100
        return min(100, round(100 * self.bar_value / self.budget.limit))


@dataclass(frozen=True)
class ModelSpending:
    model: str
    label: str
    figures: UsageFigures


@dataclass(frozen=True)
class TeamSpending:
    period: str
    bounds: PeriodBounds
    first_day: datetime.date
    last_day: datetime.date  # inclusive
    start: datetime.datetime
    end: datetime.datetime  # exclusive
    members: list[MemberSpending]
    models: list[ModelSpending]
    pairs: list[UsageRow]  # (user, model) groups with activity, for the CSV
    daily: list[tuple[datetime.date, int]]
    total: UsageFigures

    @property
    def label(self) -> str:
        if self.bounds.end is None:
            return "so far (the team budget does not reset)"
        if self.period == Period.DAY:
            return f"today, {self.first_day:%-d %B %Y}"
        return f"{self.first_day:%-d %B} to {self.last_day:%-d %B %Y}"


def _add(one: UsageFigures, other: UsageFigures) -> UsageFigures:
    return UsageFigures(
        generations=one.generations + other.generations,
        failures=one.failures + other.failures,
        images_delivered=one.images_delivered + other.images_delivered,
        credits_captured=one.credits_captured + other.credits_captured,
        credits_released=one.credits_released + other.credits_released,
    )


def team_spending(
    *,
    team: Team,
    memberships: Sequence[Membership],
    budgets: Sequence[Budget],
    standings: Sequence[BudgetStanding],
    at: datetime.datetime | None = None,
) -> TeamSpending:
    """Spending of ``team`` in its budget's current period, by member, by model and by day.

    ``memberships`` (with users), ``budgets`` and their ``standings`` are what the page has read
    already; this adds the report's fixed number of queries, however many members there are.
    """
    team_budget = next((budget for budget in budgets if budget.scope == Budget.Scope.TEAM), None)
    period = team_budget.period if team_budget is not None else Period.MONTH
    bounds = period_bounds(period, at)
    today = timezone.localdate(at)
    last_day = bounds.end - datetime.timedelta(days=1) if bounds.end is not None else today
    start, _ = day_bounds(bounds.start)
    _, end = day_bounds(last_day)
    report = usage_report(
        start=start, end=end, group_by=["user", "model"], max_rows=MAX_GROUPS, team_id=team.pk
    )

    by_user: dict[int, UsageFigures] = defaultdict(UsageFigures)
    usernames: dict[int, str] = {}
    by_model: dict[str, UsageFigures] = defaultdict(UsageFigures)
    model_labels: dict[str, str] = {}
    for row in report.rows:
        user_id, model = row.key
        assert isinstance(user_id, int)
        assert isinstance(model, str)
        by_user[user_id] = _add(by_user[user_id], row.figures)
        usernames[user_id] = row.labels[0]
        by_model[model] = _add(by_model[model], row.figures)
        model_labels[model] = row.labels[1]

    member_budgets = {
        budget.user_id: budget for budget in budgets if budget.scope == Budget.Scope.MEMBER
    }
    standing_of = {standing.budget.pk: standing for standing in standings}
    members = []
    for membership in memberships:
        budget = member_budgets.get(membership.user_id)
        members.append(
            MemberSpending(
                user_id=membership.user_id,
                username=membership.user.get_username(),
                role=membership.role,
                figures=by_user.pop(membership.user_id, UsageFigures()),
                budget=budget,
                standing=standing_of.get(budget.pk)
                if budget is not None and budget.period != period
                else None,
            )
        )
    # Spent in the period, then left the team: still the team's money.
    for user_id, figures in sorted(by_user.items(), key=lambda item: usernames[item[0]].lower()):
        members.append(
            MemberSpending(
                user_id=user_id,
                username=usernames[user_id],
                role="",
                figures=figures,
                budget=None,
                standing=None,
            )
        )
    models = sorted(
        (
            ModelSpending(model=model, label=model_labels[model], figures=figures)
            for model, figures in by_model.items()
        ),
        key=lambda spending: (-spending.figures.credits_captured, spending.label.lower()),
    )
    pairs = sorted(report.rows, key=lambda row: (row.labels[0].lower(), row.labels[1].lower()))
    return TeamSpending(
        period=period,
        bounds=bounds,
        first_day=bounds.start
        if bounds.end is not None
        else min((day for day, _ in report.daily_spend), default=today),
        last_day=last_day,
        start=start,
        end=end,
        members=members,
        models=models,
        pairs=pairs,
        daily=report.daily_spend,
        total=report.total,
    )
