"""How the account pages word a budget's standing: "120 of 5,000 credits used this month,
resets 1 January"."""

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

from accounts.models import Period
from accounts.services.budgets import BudgetStanding

register = template.Library()

_THIS_PERIOD: dict[str, str] = {
    Period.DAY: "today",
    Period.WEEK: "this week",
    Period.MONTH: "this month",
    Period.NONE: "in total",
}


@register.filter
def standing_sentence(standing: BudgetStanding) -> str:
    budget = standing.budget
    used = (
        f"{intcomma(standing.spent)} of {intcomma(budget.limit)} credits used "
        f"{_THIS_PERIOD.get(budget.period, '')}"
    )
    end = standing.bounds.end
    return f"{used}, resets {end.day} {end:%B}" if end else f"{used}; it does not reset"
