"""Team pages: the teams one belongs to, and a team's wallet, budgets, members, policy and
spending (``/teams/<slug>/``).

Members and staff see a team; anyone else gets a 404, as if it did not exist. Owners, managers
and staff change it through the forms here, each a POST that calls one service and redirects
back (or shows the page again with the service's message next to the field).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Budget, Membership, User
from accounts.services.budget_admin import BudgetInvalid, budget_remove, budget_set
from accounts.services.teams import (
    team_can_manage,
    team_member_remove,
    team_member_set,
    team_policy_set,
    team_webhook_set,
)
from accounts.services.webhook_secret import team_webhook_secret_rotate
from generations.catalog import list_models
from generations.messaging.webhooks import webhook_validate
from generations.pages.common import AuthenticatedHttpRequest, form_add_service_error
from generations.pages.team_forms import (
    BudgetForm,
    MemberAddForm,
    MemberRoleForm,
    PolicyForm,
    WebhookForm,
)
from generations.pages.team_page import BUDGET_PREFIX, ROLE_PREFIX, team_page_render
from generations.selectors.teams import (
    TeamView,
    team_budgets,
    team_get_visible,
    team_list_for,
    team_members,
    user_by_name_or_email,
)
from generations.usage.team_spending import team_spending
from studio_core.client_ip import client_ip
from studio_core.csv_export import csv_response
from studio_core.errors import ServiceError


@login_required
@require_GET
def teams_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows = team_list_for(user=request.user)
    return render(request, "teams/index.html", {"rows": rows})


def _visible_or_404(request: AuthenticatedHttpRequest, slug: str) -> TeamView:
    view = team_get_visible(user=request.user, slug=slug)
    if view is None:
        raise Http404("No such team.")
    return view


def _managed_or_refused(request: AuthenticatedHttpRequest, slug: str) -> TeamView:
    """A team the user may change; a plain member is refused, anyone else sees no team."""
    view = _visible_or_404(request, slug)
    if not team_can_manage(team=view.team, user=request.user):
        raise PermissionDenied("Only the team's owners and managers change it.")
    return view


def _back(view: TeamView, anchor: str) -> HttpResponse:
    return redirect(f"{reverse('team-detail', args=[view.team.slug])}#{anchor}")


@login_required
@require_GET
def team_detail(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    return team_page_render(request, _visible_or_404(request, slug))


# --- Members --------------------------------------------------------------------------------


def _member_or_404(view: TeamView, user_id: int) -> Membership:
    membership = (
        Membership.objects.filter(team=view.team, user_id=user_id).select_related("user").first()
    )
    if membership is None:
        raise Http404("No such member.")
    return membership


@login_required
@require_POST
def team_member_add_view(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    view = _managed_or_refused(request, slug)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        user = user_by_name_or_email(form.cleaned_data["who"])
        if user is None:
            form.add_error(
                "who",
                f"Nobody here has the username or email “{form.cleaned_data['who']}”. "
                "They need an account first: ask staff to invite them.",
            )
        elif Membership.objects.filter(team=view.team, user=user).exists():
            form.add_error("who", f"{user} is already in team {view.team}; change their role.")
        else:
            try:
                team_member_set(
                    team=view.team, user=user, role=form.cleaned_data["role"], actor=request.user
                )
            except ServiceError as error:
                form_add_service_error(form, error)
            else:
                role = form.cleaned_data["role"]
                messages.success(request, f"{user} joined team {view.team} as {role}.")
                return _back(view, "members")
    return team_page_render(request, view, failed=("member_add", None, form))


@login_required
@require_POST
def team_member_role_view(
    request: AuthenticatedHttpRequest, slug: str, user_id: int
) -> HttpResponse:
    view = _managed_or_refused(request, slug)
    membership = _member_or_404(view, user_id)
    form = MemberRoleForm(request.POST, prefix=f"{ROLE_PREFIX}{user_id}")
    if form.is_valid():
        try:
            team_member_set(
                team=view.team,
                user=membership.user,
                role=form.cleaned_data["role"],
                actor=request.user,
            )
        except ServiceError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, f"{membership.user} is now a {form.cleaned_data['role']}.")
            return _back(view, f"member-{user_id}")
    return team_page_render(request, view, failed=("role", user_id, form))


@login_required
@require_POST
def team_member_remove_view(
    request: AuthenticatedHttpRequest, slug: str, user_id: int
) -> HttpResponse:
    view = _managed_or_refused(request, slug)
    membership = _member_or_404(view, user_id)
    try:
        team_member_remove(team=view.team, user=membership.user, actor=request.user)
    except ServiceError as error:
        # Shown on the member's row, above its forms (the refusal is about no one field).
        prefix = f"{ROLE_PREFIX}{user_id}"
        form = MemberRoleForm({f"{prefix}-role": membership.role}, prefix=prefix)
        form.is_valid()
        form.add_error(None, error.message)
        return team_page_render(request, view, failed=("role", user_id, form))
    messages.success(request, f"{membership.user} left team {view.team}.")
    return _back(view, "members")


# --- Budgets --------------------------------------------------------------------------------


def _budget_change(
    request: AuthenticatedHttpRequest,
    view: TeamView,
    *,
    form: BudgetForm,
    failed: tuple[str, int | None],
    user: User | None,
    anchor: str,
) -> HttpResponse:
    scope = Budget.Scope.MEMBER if user is not None else Budget.Scope.TEAM
    whose = f"{user}'s budget" if user is not None else "The team budget"
    if "remove" in request.POST:
        budget = Budget.objects.filter(scope=scope, team=view.team, user=user).first()
        if budget is not None:
            budget_remove(budget=budget, actor=request.user)
        messages.success(request, f"{whose} is removed: no limit now.")
        return _back(view, anchor)
    if form.is_valid():
        try:
            budget_set(
                scope=scope,
                team=view.team,
                user=user,
                limit=form.cleaned_data["limit"],
                period=form.cleaned_data["period"],
                thresholds=form.cleaned_data["thresholds"],
                actor=request.user,
            )
        except BudgetInvalid as error:
            _budget_error(form, str(error))
        else:
            messages.success(request, f"{whose} is saved.")
            return _back(view, anchor)
    return team_page_render(request, view, failed=(failed[0], failed[1], form))


def _budget_error(form: BudgetForm, message: str) -> None:
    # budget_set names no field; its messages are each about one.
    field = "limit"
    if "period" in message:
        field = "period"
    elif "threshold" in message.lower():
        field = "thresholds"
    form.add_error(field, message)


@login_required
@require_POST
def team_budget_view(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    view = _managed_or_refused(request, slug)
    form = BudgetForm(request.POST, prefix="team")
    return _budget_change(
        request, view, form=form, failed=("team_budget", None), user=None, anchor="budgets"
    )


@login_required
@require_POST
def team_member_budget_view(
    request: AuthenticatedHttpRequest, slug: str, user_id: int
) -> HttpResponse:
    view = _managed_or_refused(request, slug)
    membership = _member_or_404(view, user_id)
    form = BudgetForm(request.POST, prefix=f"{BUDGET_PREFIX}{user_id}")
    return _budget_change(
        request,
        view,
        form=form,
        failed=("member_budget", user_id),
        user=membership.user,
        anchor=f"member-{user_id}",
    )


# --- Policy and webhook ---------------------------------------------------------------------


@login_required
@require_POST
def team_policy_view(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    view = _managed_or_refused(request, slug)
    form = PolicyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            team_policy_set(
                team=view.team,
                actor=request.user,
                allowed_models=data["allowed_models"],
                max_size_tier=data["max_size_tier"],
                max_images_per_request=data["max_images_per_request"],
                max_running=data["max_running"],
                known_models=[model.id for model in list_models()],
            )
        except ServiceError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, "The team policy is saved.")
            return _back(view, "policy")
    return team_page_render(request, view, failed=("policy", None, form))


@login_required
@require_POST
def team_webhook_view(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    view = _managed_or_refused(request, slug)
    form = WebhookForm(request.POST)
    if form.is_valid():
        url = form.cleaned_data["webhook_url"].strip()
        try:
            webhook_validate(url=url, events=[])
            team_webhook_set(team=view.team, actor=request.user, url=url)
        except ServiceError as error:
            form_add_service_error(form, error)
        else:
            messages.success(
                request, "Budget alerts will be posted there." if url else "Webhook removed."
            )
            return _back(view, "webhook")
    return team_page_render(request, view, failed=("webhook", None, form))


@login_required
@require_POST
def team_webhook_secret_view(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    view = _managed_or_refused(request, slug)
    had_one = bool(view.team.webhook_secret)
    team_webhook_secret_rotate(team=view.team, actor=request.user, ip_address=client_ip(request))
    messages.success(
        request,
        "The signing secret is replaced: update your receiver now."
        if had_one
        else "The signing secret is made.",
    )
    return _back(view, "webhook")


# --- Spending -------------------------------------------------------------------------------

CSV_HEADINGS = [
    "Period start",
    "Period end",
    "Member",
    "Model",
    "Generations",
    "Images delivered",
    "Credits captured",
    "Credits released",
]


@login_required
@require_GET
def team_spending_csv(request: AuthenticatedHttpRequest, slug: str) -> HttpResponseBase:
    """This period's spending by member and model: the page's figures, one row per pair."""
    view = _visible_or_404(request, slug)
    memberships = team_members(team=view.team)
    budgets = team_budgets(team=view.team)
    spending = team_spending(team=view.team, memberships=memberships, budgets=budgets, standings=[])
    first, last = spending.first_day.isoformat(), spending.last_day.isoformat()
    rows = (
        [
            first,
            last,
            row.labels[0],
            row.key[1],
            row.figures.generations,
            row.figures.images_delivered,
            row.figures.credits_captured,
            row.figures.credits_released,
        ]
        for row in spending.pairs
    )
    return csv_response(
        filename=f"{view.team.slug}-spending-{first}-to-{last}.csv",
        headings=CSV_HEADINGS,
        rows=rows,
    )
