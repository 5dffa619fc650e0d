"""A team's page as its readers and managers see it: wallet, budgets, members (with each
member's forms for those who manage the team), spending, policy and webhook.

Assembled in a fixed number of queries however many members the team has; a form that failed
is shown again in its place, with the service's messages, and the answer is a 400.
"""

from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import HttpResponse
from django.shortcuts import render

from accounts.models import Budget, Membership, Period
from accounts.services.budgets import BudgetStanding, budget_standings
from accounts.services.teams import team_can_manage
from generations.catalog import list_models
from generations.pages.common import AuthenticatedHttpRequest
from generations.pages.team_forms import (
    ROLE_CHOICES,
    BudgetForm,
    MemberAddForm,
    MemberRoleForm,
    PolicyForm,
    WebhookForm,
)
from generations.selectors.prompts import team_prompts_top
from generations.selectors.teams import TeamView, team_budgets, team_members
from generations.usage.chart import spend_chart
from generations.usage.team_spending import MemberSpending, team_spending

# The forms of one member's row are told apart by this prefix and the member's user id.
ROLE_PREFIX, BUDGET_PREFIX = "role", "budget"

# The team page lists this many of the prompts most often run in the team's shared work.
TEAM_PROMPTS_SHOWN = 8


@dataclass
class MemberRow:
    membership: Membership
    spending: MemberSpending
    role_form: MemberRoleForm | None = None
    budget_form: BudgetForm | None = None
    open: bool = False  # its forms are shown unfolded (one of them has errors)


def _may_make_owner(request: AuthenticatedHttpRequest, view: TeamView) -> bool:
    return request.user.is_staff or view.role == Membership.Role.OWNER


def _budget_initial(budget: Budget | None) -> dict[str, Any]:
    if budget is None:
        return {"period": Period.MONTH, "thresholds": "80, 100"}
    return {
        "limit": budget.limit,
        "period": budget.period,
        "thresholds": ", ".join(str(value) for value in budget.thresholds or []),
    }


def team_page_render(
    request: AuthenticatedHttpRequest,
    view: TeamView,
    *,
    failed: tuple[str, int | None, forms.Form] | None = None,
) -> HttpResponse:
    """The team page; ``failed`` is the form (name, member id, bound form) to show with its
    errors, answered with status 400."""
    team = view.team
    can_manage = team_can_manage(team=team, user=request.user)
    memberships = team_members(team=team)
    budgets = team_budgets(team=team)
    standings = budget_standings(budgets)
    spending = team_spending(
        team=team, memberships=memberships, budgets=budgets, standings=standings
    )
    team_budget = next((budget for budget in budgets if budget.scope == Budget.Scope.TEAM), None)
    member_budgets = {b.user_id: b for b in budgets if b.scope == Budget.Scope.MEMBER}
    failed_name, failed_member, failed_form = failed if failed else ("", None, None)

    def form_for(name: str, member: int | None, make: Any) -> Any:
        if failed_name == name and failed_member == member:
            return failed_form
        return make()

    rows = []
    may_make_owner = _may_make_owner(request, view)
    spending_by_user = {member.user_id: member for member in spending.members}
    for membership in memberships:
        row = MemberRow(membership=membership, spending=spending_by_user[membership.user_id])
        if can_manage:
            uid = membership.user_id
            row.role_form = form_for(
                "role",
                uid,
                lambda m=membership: MemberRoleForm(
                    prefix=f"{ROLE_PREFIX}{m.user_id}", initial={"role": m.role}
                ),
            ).offer_owner(may_make_owner)
            row.budget_form = form_for(
                "member_budget",
                uid,
                lambda uid=uid: BudgetForm(
                    prefix=f"{BUDGET_PREFIX}{uid}",
                    initial=_budget_initial(member_budgets.get(uid)),
                ),
            )
            row.open = failed_member == uid
        rows.append(row)
    context: dict[str, Any] = {
        "team": team,
        "wallet": view.wallet,
        "role": view.role,
        "can_manage": can_manage,
        "standings": standings,
        "team_standing": next(
            (one for one in standings if one.budget.scope == Budget.Scope.TEAM), None
        ),
        "member_standings": _member_standings(standings),
        "rows": rows,
        "former": [member for member in spending.members if not member.role],
        "spending": spending,
        "chart": spend_chart(
            daily=spending.daily, first=spending.first_day, last=spending.last_day
        ),
        "allowed_model_labels": _model_labels(team.allowed_models),
        "failed": failed_name,
        "team_prompts": team_prompts_top(user=request.user, team=team, limit=TEAM_PROMPTS_SHOWN),
    }
    if can_manage:
        context |= {
            "member_add_form": form_for(
                "member_add",
                None,
                lambda: _offer_owner_on_add(MemberAddForm(), may_make_owner),
            ),
            "team_budget_form": form_for(
                "team_budget",
                None,
                lambda: BudgetForm(prefix="team", initial=_budget_initial(team_budget)),
            ),
            "team_budget": team_budget,
            "policy_form": form_for(
                "policy",
                None,
                lambda: PolicyForm(
                    initial={
                        "allowed_models": team.allowed_models,
                        "max_size_tier": team.max_size_tier,
                        "max_images_per_request": team.max_images_per_request,
                        "max_running": team.max_running,
                    }
                ),
            ),
            "webhook_form": form_for(
                "webhook", None, lambda: WebhookForm(initial={"webhook_url": team.webhook_url})
            ),
        }
    status = 400 if failed else 200
    return render(request, "teams/detail.html", context, status=status)


def _model_labels(model_ids: list[str]) -> list[str]:
    labels = {model.id: model.label for model in list_models()}
    return [labels.get(model_id, model_id) for model_id in model_ids]


def _offer_owner_on_add(form: MemberAddForm, allowed: bool) -> MemberAddForm:
    if not allowed:
        form.fields["role"].widget.choices = [
            choice for choice in ROLE_CHOICES if choice[0] != Membership.Role.OWNER
        ]
    return form


def _member_standings(standings: list[BudgetStanding]) -> dict[int, BudgetStanding]:
    return {
        standing.budget.user_id: standing
        for standing in standings
        if standing.budget.scope == Budget.Scope.MEMBER and standing.budget.user_id is not None
    }
