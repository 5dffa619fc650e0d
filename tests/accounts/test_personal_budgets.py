"""Personal budgets and running limits: staff set them on the admin's user page; the credits page
shows the user's budget standing and the teams they belong to, with each team's balance and the
user's budget in it."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent, Budget, Team, User
from accounts.services.budget_admin import budget_set
from accounts.services.credits import team_wallet_for
from generations.catalog import GenerationSpec
from generations.services import generation_submit
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

MID_DECEMBER = datetime.datetime(2026, 12, 15, 12, tzinfo=ZoneInfo(settings.TIME_ZONE))


@pytest.fixture
def member(db) -> User:
    return UserFactory(username="ana", credits=10_000)


@pytest.fixture
def design(member) -> Team:
    team = TeamFactory(name="Design", slug="design", credits=20_000)
    MembershipFactory(team=team, user=member, role="manager")
    return team


def spend(user: User, images: int, *, team: Team | None = None) -> None:
    """Hold ``images`` x 30 credits with a queued seedream-4.0 generation."""
    spec = GenerationSpec(model="seedream-4.0", prompt="a kite", size="1K", num_images=images)
    wallet = team_wallet_for(team) if team else None
    generation_submit(user=user, spec=spec, wallet=wallet)


# --- The credits page ------------------------------------------------------------------------


@time_machine.travel(MID_DECEMBER, tick=False)
def test_credits_page_shows_the_personal_budget_standing(client, member, local_account):
    budget_set(scope=Budget.Scope.USER, user=member, limit=5000, period="month", actor=None)
    spend(member, 4)
    client.force_login(member)
    page = client.get(reverse("account-credits")).content.decode()
    assert "120 of 5,000 credits used this month, resets 1 January" in page
    assert '<progress max="5000" value="120"' in page


def test_credits_page_without_a_budget_or_teams_shows_neither(client, member):
    client.force_login(member)
    page = client.get(reverse("account-credits")).content.decode()
    assert "Your budget" not in page
    assert "Your teams" not in page


@time_machine.travel(MID_DECEMBER, tick=False)
def test_credits_page_lists_the_users_teams_with_balance_and_budgets(
    client, member, design, local_account
):
    budget_set(
        scope=Budget.Scope.MEMBER, team=design, user=member, limit=600, period="week", actor=None
    )
    budget_set(scope=Budget.Scope.TEAM, team=design, limit=50_000, period="month", actor=None)
    spend(member, 2, team=design)
    TeamFactory(name="Ops", slug="ops", credits=1)  # not theirs
    client.force_login(member)
    page = client.get(reverse("account-credits")).content.decode()
    row = page[page.index('data-team="design"') :]
    row = row[: row.index("</li>")]
    assert "Design" in row
    assert "Manager" in row
    assert "<strong>19,940</strong> available · 60 held" in row  # 20,000 less the 60 held
    # The week of 15 December 2026 (a Tuesday) began on Monday the 14th.
    assert "You: 60 of 600 credits used this week, resets 21 December" in row
    assert "Team: 60 of 50,000 credits used this month, resets 1 January" in row
    assert "Ops" not in page


def test_credits_page_query_count_does_not_grow_with_teams(client, member, design):
    budget_set(
        scope=Budget.Scope.MEMBER, team=design, user=member, limit=600, period="week", actor=None
    )
    client.force_login(member)
    client.get(reverse("account-credits"))  # notes the session's activity (once a minute)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("account-credits")).status_code == 200
    for _ in range(4):
        team = TeamFactory(credits=100)
        MembershipFactory(team=team, user=member)
        budget_set(scope=Budget.Scope.TEAM, team=team, limit=1000, actor=None)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("account-credits")).status_code == 200
    assert len(many) == len(few)


# --- The admin's user page -------------------------------------------------------------------


def change_data(admin_client: Client, user: User, **changes: object) -> dict:
    """The user page's form as it stands, with ``changes``."""
    form = (
        admin_client.get(reverse("admin:accounts_user_change", args=[user.pk]))
        .context["adminform"]
        .form
    )
    data = {key: value for key, value in form.initial.items() if value is not None}
    for name in ("password", "last_login", "groups", "user_permissions"):
        data.pop(name, None)
    data.update(
        {
            "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
            "is_active": "on",
        }
    )
    data.update(changes)
    return data


def test_staff_set_a_personal_budget_and_running_limit_on_the_user_page(
    admin_client, admin_user, member
):
    url = reverse("admin:accounts_user_change", args=[member.pk])
    page = admin_client.get(url).content.decode()
    assert "Personal budget (credits)" in page
    assert "Generations running at once" in page

    response = admin_client.post(
        url,
        change_data(
            admin_client,
            member,
            max_running="3",
            personal_budget_limit="5000",
            personal_budget_period="week",
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    member.refresh_from_db()
    assert member.max_running == 3
    budget = Budget.objects.get(scope=Budget.Scope.USER, user=member)
    assert (budget.limit, budget.period) == (5000, "week")
    running = AuditEvent.objects.get(action="user.running_limit_set")
    assert (running.actor, running.before, running.after) == (
        admin_user,
        {"max_running": None},
        {"max_running": 3},
    )
    assert AuditEvent.objects.get(action="budget.set").actor == admin_user

    # The page shows them back; emptying both takes them away.
    form = admin_client.get(url).context["adminform"].form
    assert (form.initial["personal_budget_limit"], form.initial["personal_budget_period"]) == (
        5000,
        "week",
    )
    data = change_data(admin_client, member, max_running="", personal_budget_limit="")
    assert admin_client.post(url, data).status_code == 302
    member.refresh_from_db()
    assert member.max_running is None
    assert not Budget.objects.exists()
    assert AuditEvent.objects.filter(action="budget.removed").count() == 1


def test_saving_the_user_page_unchanged_writes_no_limit_events(admin_client, member):
    budget_set(scope=Budget.Scope.USER, user=member, limit=500, period="month", actor=None)
    url = reverse("admin:accounts_user_change", args=[member.pk])
    assert admin_client.post(url, change_data(admin_client, member)).status_code == 302
    assert (
        not AuditEvent.objects.filter(
            action__in=["user.running_limit_set", "budget.set", "budget.removed"]
        )
        .exclude(actor=None)
        .exists()
    )
    assert Budget.objects.get(scope=Budget.Scope.USER, user=member).limit == 500
