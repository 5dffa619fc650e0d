"""A team's spending on its page and in its CSV: the admin usage report's figures for the team,
a bar per member against their budget, by model and by day, in a fixed number of queries."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from accounts.services.teams import team_member_remove
from tests.factories import BudgetFactory, TeamFactory, UserFactory
from tests.teams.conftest import member_of, spend, team_url, this_month
from tests.usage.builders import make_generation

pytestmark = pytest.mark.django_db

REPORT_URL = reverse("admin:generations_usage_report")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def spent(team, owner, manager, member):
    """Spending this month on the team wallet by three members on two models, and spending
    that is not the team's: a personal generation, another team's, and last month's."""
    spend(team, owner, images=2, price=30, created_at=this_month(1))
    spend(team, owner, model="seedream-4.5", price=40, created_at=this_month(2))
    spend(team, manager, images=3, price=30, created_at=this_month(3))
    spend(team, manager, status="failed", created_at=this_month(3))
    spend(team, member, model="seedream-4.5", images=2, price=40)
    make_generation(owner=UserFactory(credits=500), price=30)  # a personal wallet
    elsewhere = TeamFactory(slug="elsewhere", credits=1_000)
    spend(elsewhere, member, images=4)
    month_start = this_month(1).replace(hour=0)
    spend(team, owner, images=5, created_at=month_start - timedelta(days=3))  # last month
    return team


def admin_report(team, *group_by: str, first, last) -> dict[str, int]:
    admin = UserFactory(is_staff=True, is_superuser=True)
    response = signed_in(admin).get(
        REPORT_URL,
        {
            "start": first.isoformat(),
            "end": last.isoformat(),
            "group_by": list(group_by),
            "team": team.pk,
        },
    )
    assert response.status_code == 200
    return {row.labels[0]: row.figures.credits_captured for row in response.context["report"].rows}


def test_the_page_shows_the_admin_reports_figures_for_the_team(spent, owner):
    page = signed_in(owner).get(team_url(spent))
    spending = page.context["spending"]
    today = timezone.localdate()
    assert (spending.first_day, spending.last_day) == (
        today.replace(day=1),
        (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1),
    )

    by_member = {member.username: member.spent for member in spending.members}
    assert by_member == {"olga": 100, "mona": 90, "max": 80}
    assert by_member == admin_report(
        spent, "user", first=spending.first_day, last=spending.last_day
    )
    by_model = {model.label: model.figures.credits_captured for model in spending.models}
    assert by_model == admin_report(
        spent, "model", first=spending.first_day, last=spending.last_day
    )
    assert sum(by_model.values()) == spending.total.credits_captured == 270
    assert sum(credits for _, credits in spending.daily) == 270

    body = page.content.decode()
    assert 'data-member-spent="olga">100<' in body
    assert 'data-model-spent="seedream-4.5">120<' in body
    assert "<svg" in body


def test_members_with_a_budget_get_a_bar_the_rest_the_amount(spent, owner, manager, member):
    BudgetFactory(scope="member", team=spent, user=manager, limit=120)
    body = signed_in(owner).get(team_url(spent)).content.decode()
    assert 'aria-label="mona: 75% of their budget"' in body
    assert "90 of 120" in body
    assert 'aria-label="olga: ' not in body
    assert 'data-member-spent="olga">100<' in body


def test_a_member_budget_of_another_period_shows_its_own_standing(spent, owner, manager):
    BudgetFactory(scope="member", team=spent, user=manager, limit=1000, period="none")
    page = signed_in(owner).get(team_url(spent))
    mona = next(one for one in page.context["spending"].members if one.username == "mona")
    assert mona.standing is not None
    assert mona.bar_value == mona.standing.spent
    assert "0 of 1,000 in all (no reset)" in page.content.decode()


def test_the_period_is_the_team_budgets(team, owner):
    BudgetFactory(scope="team", team=team, limit=10_000, period="week")
    spend(team, owner, images=2, created_at=timezone.now() - timedelta(minutes=1))
    spend(team, owner, images=5, created_at=timezone.now() - timedelta(days=8))
    spending = signed_in(owner).get(team_url(team)).context["spending"]
    assert spending.period == "week"
    assert spending.first_day.weekday() == 0
    assert spending.total.credits_captured == 60
    assert admin_report(team, "user", first=spending.first_day, last=spending.last_day) == {
        "olga": 60
    }


def test_someone_who_spent_and_left_still_counts(spent, owner, member):
    team_member_remove(team=spent, user=member, actor=owner)
    body = signed_in(owner).get(team_url(spent)).content.decode()
    assert "max <span" in body
    assert "(left the team)" in body
    assert 'data-member-spent="max">80<' in body


def test_the_csv_has_a_row_per_member_and_model(spent, member):
    response = signed_in(member).get(team_url(spent, "team-spending-csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    today = timezone.localdate()
    assert (
        f'filename="design-spending-{today.replace(day=1).isoformat()}-to-'
        in (response["Content-Disposition"])
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "Period start",
        "Period end",
        "Member",
        "Model",
        "Generations",
        "Images delivered",
        "Credits captured",
        "Credits released",
    ]
    body = [row[2:] for row in rows[1:]]
    assert body == [
        ["max", "seedream-4.5", "1", "2", "80", "0"],
        ["mona", "seedream-4.0", "2", "3", "90", "30"],
        ["olga", "seedream-4.0", "1", "2", "60", "0"],
        ["olga", "seedream-4.5", "1", "1", "40", "0"],
    ]
    assert {row[0] for row in rows[1:]} == {today.replace(day=1).isoformat()}


def test_the_page_reads_a_fixed_number_of_queries_however_many_members(team, owner):
    client = signed_in(owner)

    def add_members(count: int) -> None:
        for _ in range(count):
            user = member_of(team, f"m{Membership.objects.count()}", "member")
            BudgetFactory(scope="member", team=team, user=user, limit=500)
            spend(team, user)

    add_members(2)  # 3 members with the owner
    client.get(team_url(team))  # notes the session's activity (once a minute)
    with CaptureQueriesContext(connection) as few:
        assert client.get(team_url(team)).status_code == 200
    add_members(9)  # 12 members
    with CaptureQueriesContext(connection) as many:
        assert client.get(team_url(team)).status_code == 200
    assert Membership.objects.filter(team=team).count() == 12
    assert len(many) == len(few), [query["sql"][:120] for query in many["captured_queries"]]
