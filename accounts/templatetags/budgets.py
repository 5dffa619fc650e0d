"""The budget notices of the signed-in user, for any page that includes
``budgets/_notices.html``."""

from django import template

from ..selectors import budget_notices_for
from ..services.budget_alerts import BudgetAlertNotice

register = template.Library()


@register.simple_tag
def budget_notices(user) -> list[BudgetAlertNotice]:
    return budget_notices_for(user)
