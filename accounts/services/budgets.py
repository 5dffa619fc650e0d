"""Budgets: limits in credits per period that a generation's hold must fit, all of them.

A hold moves every budget that applies (team, member, key or personal; ``budgets_applying``) in
the caller's transaction, before the wallet's own hold: each budget's period row is changed by
one conditional UPDATE (``spent + amount <= limit``), which locks the row, so concurrent holds
queue on it and none can pass the limit. Rows are taken in budget id order, so two holds never
wait on each other in a circle. Each generation's share of a period is kept (``BudgetHold``):
what the settlement releases goes back to the period it was held in, even after that period
has ended. Periods are calendar days, weeks (from Monday) and months in the installation's time
zone (``TIME_ZONE``); a new period's row is made by the first hold in it, no job needed.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Case, DateField, F, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from studio_core.errors import ServiceError

from ..models import (
    ApiKey,
    Budget,
    BudgetAlert,
    BudgetHold,
    BudgetSpend,
    CreditAccount,
    Period,
    User,
)

# The start of the one period of a budget that never resets.
NO_RESET_START = datetime.date(2000, 1, 1)


@dataclass(frozen=True)
class PeriodBounds:
    start: datetime.date
    end: datetime.date | None  # the first day of the next period; None: it never resets


def period_bounds(period: str, at: datetime.datetime | None = None) -> PeriodBounds:
    """The period of kind ``period`` that ``at`` (default now) falls in, in local dates."""
    day = timezone.localtime(at or timezone.now()).date()
    if period == Period.DAY:
        return PeriodBounds(day, day + datetime.timedelta(days=1))
    if period == Period.WEEK:
        start = day - datetime.timedelta(days=day.weekday())
        return PeriodBounds(start, start + datetime.timedelta(days=7))
    if period == Period.MONTH:
        start = day.replace(day=1)
        following = (start + datetime.timedelta(days=32)).replace(day=1)
        return PeriodBounds(start, following)
    return PeriodBounds(NO_RESET_START, None)


def budget_period_word(budget: Budget) -> str:
    """ "monthly", "weekly", "daily", or "total" for a budget that never resets."""
    return budget.get_period_display().lower() if budget.period != Period.NONE else "total"


def budget_label(budget: Budget) -> str:
    """How a refusal or an alert names the budget: "Team Design, monthly budget"."""
    period = budget_period_word(budget)
    if budget.scope == Budget.Scope.TEAM:
        return f"Team {budget.team}, {period} budget"
    if budget.scope == Budget.Scope.MEMBER:
        return f"{budget.user}'s {period} budget in team {budget.team}"
    if budget.scope == Budget.Scope.KEY and budget.api_key is not None:
        return f"API key “{budget.api_key.name}”, {period} budget"
    return f"{budget.user}'s personal {period} budget"


def _who_to_ask(budget: Budget) -> str:
    if budget.scope in (Budget.Scope.TEAM, Budget.Scope.MEMBER):
        return "Ask a team manager."
    if budget.scope == Budget.Scope.KEY:
        return "Raise the key's budget on the keys page, or wait for it to reset."
    return "Ask staff."


def _until(bounds: PeriodBounds) -> str:
    if bounds.end is None:
        return "(it does not reset)"
    return f"until {bounds.end.day} {bounds.end:%B}"


class BudgetExceeded(ServiceError):
    """A hold that does not fit one of the budgets that apply; names the budget."""

    code = "budget_exceeded"
    status = 402

    def __init__(self, *, budget: Budget, bounds: PeriodBounds, spent: int, needed: int) -> None:
        self.budget = budget
        left = max(budget.limit - spent, 0)
        super().__init__(
            f"{budget_label(budget)}: {left:,} of {budget.limit:,} credits left "
            f"{_until(bounds)}. {_who_to_ask(budget)}",
            details={
                "budget": budget.scope,
                "budget_id": budget.pk,
                "period": budget.period,
                "limit": budget.limit,
                "left": left,
                "needed": needed,
                "resets_on": bounds.end.isoformat() if bounds.end else None,
            },
        )


def budgets_applying(
    *,
    wallet: CreditAccount,
    user: User,
    api_key: ApiKey | None,
    at: datetime.datetime | None = None,
) -> list[Budget]:
    """Every budget a generation charged to ``wallet`` by ``user`` (with ``api_key``) must fit:
    the team's and the member's when it is a team wallet, the user's personal one when it is
    their own, and the key's either way. In id order (the order their rows are locked in)."""
    scopes = Q(scope=Budget.Scope.KEY, api_key=api_key) if api_key is not None else Q(pk=None)
    if wallet.team_id is not None:
        scopes |= Q(scope=Budget.Scope.TEAM, team_id=wallet.team_id)
        scopes |= Q(scope=Budget.Scope.MEMBER, team_id=wallet.team_id, user=user)
    else:
        scopes |= Q(scope=Budget.Scope.USER, user=user)
    # Each with the id of its current period's row when there is one (``current_spend_id``),
    # so the hold needs no second read to find it.
    starts = {period: period_bounds(period, at).start for period in Period.values}
    current = Case(
        *(When(budget__period=period, then=Value(start)) for period, start in starts.items()),
        output_field=DateField(),
    )
    spend = BudgetSpend.objects.filter(budget=OuterRef("pk"), period_start=current).values("id")
    budgets: list[Budget] = list(
        Budget.objects.filter(scopes).annotate(current_spend_id=Subquery(spend[:1])).order_by("id")
    )
    for budget in budgets:
        # The period that row is of: a hold a moment later, in the next period, reads again.
        budget.current_period_start = starts[budget.period]  # type: ignore[attr-defined]
    return budgets


@dataclass(frozen=True)
class Crossing:
    """A threshold a hold took a budget period across (an alert to send once)."""

    alert: BudgetAlert
    budget: Budget
    bounds: PeriodBounds


def budgets_hold(
    *, generation, budgets: Sequence[Budget], amount: int, at: datetime.datetime | None = None
) -> list[Crossing]:
    """Hold ``amount`` on each budget's current period for ``generation``, in the caller's
    transaction; raises ``BudgetExceeded`` (naming the first that does not fit) otherwise.
    Returns the alert thresholds crossed, already recorded (once per period).

    The generation's shares are written first, before any period row is locked (a share's
    foreign key takes no lock a hold waits for); then each period's row is moved by one
    conditional UPDATE, the only statements concurrent holds of a budget queue on.
    """
    if amount <= 0 or not budgets:
        return []
    assert transaction.get_connection().in_atomic_block, "hold budgets inside the submit"
    ordered = sorted(budgets, key=lambda budget: budget.pk)
    bounds = {budget.pk: period_bounds(budget.period, at) for budget in ordered}
    spend_ids = _period_rows(ordered, bounds)
    BudgetHold.objects.bulk_create(
        BudgetHold(spend_id=spend_ids[budget.pk], generation=generation, held=amount)
        for budget in ordered
    )
    crossings: list[Crossing] = []
    for budget in ordered:
        spent = _spend_add(
            budget=budget, bounds=bounds[budget.pk], spend_id=spend_ids[budget.pk], amount=amount
        )
        crossings.extend(
            _thresholds_crossed(
                budget=budget,
                bounds=bounds[budget.pk],
                spend_id=spend_ids[budget.pk],
                before=spent - amount,
                after=spent,
            )
        )
    return crossings


def _period_rows(budgets: Sequence[Budget], bounds: dict[int, PeriodBounds]) -> dict[int, int]:
    """The id of each budget's row for its current period, made by the first hold in it (a
    concurrent first waits on the unique key, then finds the row)."""

    def found() -> dict[int, int]:
        wanted = Q(pk=None)
        for budget in budgets:
            wanted |= Q(budget_id=budget.pk, period_start=bounds[budget.pk].start)
        return dict(BudgetSpend.objects.filter(wanted).values_list("budget_id", "id"))

    read_with_the_budgets: dict[int, int] = {
        budget.pk: budget.current_spend_id  # type: ignore[attr-defined]
        for budget in budgets
        if getattr(budget, "current_spend_id", None) is not None
        and getattr(budget, "current_period_start", None) == bounds[budget.pk].start
    }
    if len(read_with_the_budgets) == len(budgets):
        return read_with_the_budgets  # budgets_applying found every row, for these periods
    ids = found()
    missing = [budget for budget in budgets if budget.pk not in ids]
    if missing:
        BudgetSpend.objects.bulk_create(
            [
                BudgetSpend(budget=budget, period_start=bounds[budget.pk].start)
                for budget in missing
            ],
            ignore_conflicts=True,
        )
        ids = found()
    return ids


def budgets_settle(*, generation, charged: int) -> None:
    """The generation's budget holds keep ``charged``; the rest goes back to the period each
    was held in. Under the caller's lock on the generation; a second call changes nothing."""
    holds = list(
        BudgetHold.objects.filter(generation=generation, held__gt=F("released") + charged)
        .order_by("spend__budget_id")
        .values_list("spend_id", "held", "released")
    )
    if not holds:
        return
    now = timezone.now()
    for spend_id, held, released in holds:
        updated = BudgetSpend.objects.filter(pk=spend_id).update(
            spent=F("spent") - (held - released - charged), updated_at=now
        )
        assert updated == 1
    BudgetHold.objects.filter(generation=generation, held__gt=F("released") + charged).update(
        released=F("held") - charged
    )


def _spend_add(*, budget: Budget, bounds: PeriodBounds, spend_id: int, amount: int) -> int:
    """Add ``amount`` to the budget's period row if it fits; what it has spent after."""
    connection = transaction.get_connection()
    table = BudgetSpend._meta.db_table
    sql = (
        f"UPDATE {table} SET spent = spent + %s, updated_at = %s "  # noqa: S608 (model's table)
        "WHERE id = %s AND spent + %s <= %s RETURNING spent"
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, [amount, now, spend_id, amount, budget.limit])
        row = cursor.fetchone()
    if row is None:
        spent = BudgetSpend.objects.filter(pk=spend_id).values_list("spent", flat=True).get()
        raise BudgetExceeded(budget=budget, bounds=bounds, spent=spent, needed=amount)
    return int(row[0])


def _thresholds_crossed(
    *, budget: Budget, bounds: PeriodBounds, spend_id: int, before: int, after: int
) -> list[Crossing]:
    crossed = [
        threshold
        for threshold in budget.thresholds or []
        if before * 100 < threshold * budget.limit <= after * 100
    ]
    if not crossed:
        return []
    # Under the period row's lock: no concurrent hold is deciding the same alerts.
    sent = set(
        BudgetAlert.objects.filter(spend_id=spend_id, threshold__in=crossed).values_list(
            "threshold", flat=True
        )
    )
    return [
        Crossing(
            alert=BudgetAlert.objects.create(spend_id=spend_id, threshold=threshold, spent=after),
            budget=budget,
            bounds=bounds,
        )
        for threshold in crossed
        if threshold not in sent
    ]


@dataclass(frozen=True)
class BudgetStanding:
    budget: Budget
    bounds: PeriodBounds
    spent: int

    @property
    def left(self) -> int:
        return max(self.budget.limit - self.spent, 0)

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.spent / self.budget.limit)) if self.budget.limit else 100

    @property
    def label(self) -> str:
        return budget_label(self.budget)


def budget_standings(
    budgets: Sequence[Budget], at: datetime.datetime | None = None
) -> list[BudgetStanding]:
    """Each budget's spending in its current period (zero when nothing was held there yet)."""
    bounds_by_id = {budget.pk: period_bounds(budget.period, at) for budget in budgets}
    spends = Q(pk=None)
    for budget in budgets:
        spends |= Q(budget_id=budget.pk, period_start=bounds_by_id[budget.pk].start)
    spent = dict(BudgetSpend.objects.filter(spends).values_list("budget_id", "spent"))
    return [
        BudgetStanding(budget=budget, bounds=bounds_by_id[budget.pk], spent=spent.get(budget.pk, 0))
        for budget in budgets
    ]
