"""Setting and removing budgets (team pages, admin, ``manage.py team budget``)."""

from typing import Any

from django.db import transaction

from ..models import ApiKey, Budget, Period, Team, User
from .audit import audit_record
from .budgets import budget_label

# More credits than any installation hands out: a larger figure is a typing mistake (and would
# not fit the database's column).
MAX_CREDITS = 10**12


class BudgetInvalid(ValueError):
    pass


def budget_set(
    *,
    scope: str,
    limit: int,
    period: str = Period.MONTH,
    team: Team | None = None,
    user: User | None = None,
    api_key: ApiKey | None = None,
    thresholds: list[int] | None = None,
    actor: User | None,
) -> Budget:
    """Create or change the one budget of a scope's target; what was spent stays counted."""
    if limit < 0:
        raise BudgetInvalid("A budget's limit cannot be negative.")
    if limit > MAX_CREDITS:
        raise BudgetInvalid(f"A budget's limit can be at most {MAX_CREDITS:,} credits.")
    if period not in Period.values:
        raise BudgetInvalid(f"The period must be one of {', '.join(Period.values)}.")
    if thresholds is not None and any(not 1 <= value <= 100 for value in thresholds):
        raise BudgetInvalid("Alert thresholds are percentages from 1 to 100.")
    target: dict[str, Any] = {"team": team, "user": user, "api_key": api_key}
    with transaction.atomic():
        budget = Budget.objects.select_for_update().filter(scope=scope, **target).first()
        before = {"limit": budget.limit, "period": budget.period} if budget else {}
        if budget is None:
            budget = Budget(scope=scope, **target)
        budget.limit, budget.period = limit, period
        if thresholds is not None:
            budget.thresholds = sorted(set(thresholds))
        budget.full_clean(exclude=["thresholds"])
        budget.save()
        audit_record(
            actor=actor,
            action="budget.set",
            target=budget,
            before=before,
            after={"budget": budget_label(budget), "limit": limit, "period": period},
        )
    return budget


def budget_remove(*, budget: Budget, actor: User | None) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="budget.removed",
            target=budget,
            before={"budget": budget_label(budget), "limit": budget.limit},
        )
        budget.delete()
