"""Budget alerts: a threshold (default 80% and 100%) crossed in a budget's period is recorded
once (``BudgetAlert``, unique per period and threshold) by the hold that crossed it, with an
audit event in the same transaction; the notices it sends go out after the commit."""

from collections.abc import Sequence

from .audit import audit_record
from .budgets import Crossing, budget_label


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
