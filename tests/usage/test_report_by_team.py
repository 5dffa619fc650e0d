"""The usage report by team and by wallet, and filtered to one team: every grouping adds up to
the ledger, and every figure's drill-down lists exactly the generations behind it."""

from datetime import timedelta

import pytest
from django.db.models import F, Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import CreditEntry, Team, User
from accounts.services.credits import team_wallet_for
from generations.models import Generation, OutputImage
from generations.usage.report import usage_report
from generations.usage.table import FIGURE_COLUMNS
from tests.factories import MembershipFactory, TeamFactory
from tests.usage.builders import make_generation
from tests.usage.test_report import _ledger_totals, at, report_range

pytestmark = pytest.mark.django_db

REPORT_URL = reverse("admin:generations_usage_report")


@pytest.fixture
def teams(seeded) -> list[Team]:
    """Two teams whose members spent on the team wallets, beside the seeded personal spending."""
    users = list(User.objects.order_by("pk")[:3])
    made = []
    for number, name in enumerate(("Design", "Video")):
        team = TeamFactory(name=name, slug=name.lower(), credits=50_000)
        made.append(team)
        for offset, user in enumerate(users):
            MembershipFactory(team=team, user=user)
            for days_ago in (1, 3 + number):
                make_generation(
                    owner=user,
                    wallet=team_wallet_for(team),
                    model=("seedream-4.0", "seedream-4.5")[offset % 2],
                    num_images=2,
                    delivered=1 + (days_ago % 2),
                    status="succeeded" if days_ago % 2 else "partial",
                    created_at=at(days_ago, 9 + offset),
                )
        make_generation(
            owner=users[0], wallet=team_wallet_for(team), status="failed", created_at=at(2, 8)
        )
    return made


def test_the_fixture_has_team_and_personal_spending(teams):
    start, end = report_range(days=30)
    in_range = Generation.objects.filter(created_at__gte=start, created_at__lt=end)
    assert in_range.filter(wallet__team__isnull=True).exists()
    assert in_range.filter(wallet__team=teams[0]).count() == 7
    assert in_range.filter(wallet__team=teams[1]).count() == 7


@pytest.mark.parametrize("group_by", [["team"], ["wallet"], ["team", "user"], ["wallet", "day"]])
def test_team_and_wallet_groupings_add_up_to_the_ledger(teams, group_by):
    start, end = report_range(days=30)
    report = usage_report(start=start, end=end, group_by=group_by)

    in_range = Generation.objects.filter(created_at__gte=start, created_at__lt=end)
    assert report.total.generations == in_range.count() > 0
    assert (
        report.total.images_delivered == OutputImage.objects.filter(generation__in=in_range).count()
    )
    assert (report.total.credits_captured, report.total.credits_released) == _ledger_totals(
        start, end
    )
    for name in ("generations", "failures", "images_delivered", "credits_captured"):
        assert sum(getattr(row.figures, name) for row in report.rows) == getattr(report.total, name)
    assert sum(credits for _, credits in report.daily_spend) == report.total.credits_captured


def test_by_team_each_team_has_its_wallets_captures(teams):
    start, end = report_range(days=30)
    report = usage_report(start=start, end=end, group_by=["team"])
    by_label = {row.labels[0]: row.figures for row in report.rows}
    assert set(by_label) == {"Design", "Video", "personal wallets"}
    for team in teams:
        captured = CreditEntry.objects.filter(
            account__team=team,
            kind="capture",
            generation__created_at__gte=start,
            generation__created_at__lt=end,
        ).aggregate(total=Sum(-F("held_change")))["total"]
        assert by_label[team.name].credits_captured == captured > 0


def test_by_wallet_names_team_and_own_wallets(teams, seeded):
    start, end = report_range(days=30)
    labels = {row.labels[0] for row in usage_report(start=start, end=end, group_by=["wallet"]).rows}
    assert {"Team Design", "Team Video"} <= labels
    assert any(label.endswith(" (own)") for label in labels)


def test_filtered_to_a_team_only_its_wallet_counts(teams):
    start, end = report_range(days=30)
    design = teams[0]
    report = usage_report(start=start, end=end, group_by=["user"], team_id=design.pk)
    generations = Generation.objects.filter(
        created_at__gte=start, created_at__lt=end, wallet__team=design
    )
    assert report.total.generations == generations.count() == 7
    captured = CreditEntry.objects.filter(generation__in=generations, kind="capture").aggregate(
        total=Sum(-F("held_change"))
    )["total"]
    assert report.total.credits_captured == captured
    assert sum(credits for _, credits in report.daily_spend) == captured


def report_query(*group_by: str, team: Team | None = None) -> dict[str, object]:
    today = timezone.localdate()
    query: dict[str, object] = {
        "start": (today - timedelta(days=29)).isoformat(),
        "end": today.isoformat(),
        "group_by": list(group_by),
    }
    if team is not None:
        query["team"] = team.pk
    return query


def column(name: str) -> int:
    return [one.name for one in FIGURE_COLUMNS].index(name)


@pytest.mark.parametrize(
    ("group_by", "filtered"),
    [(("team",), False), (("wallet",), False), (("user", "model"), True), (("wallet",), True)],
)
def test_every_figure_links_to_exactly_the_generations_behind_it(
    admin_client: Client, teams, group_by, filtered
):
    query = report_query(*group_by, team=teams[1] if filtered else None)
    rows = admin_client.get(REPORT_URL, query).context["rows"]
    assert len(rows) > 1
    for row in rows[:5] + rows[-1:]:  # a few groups and the total
        for name in ("generations", "failures"):
            cell = row.cells[column(name)]
            listed = admin_client.get(cell.url)
            assert listed.status_code == 200, cell.url
            assert listed.context["cl"].result_count == cell.value, (row.labels, name)


def test_the_page_offers_the_team_filter_and_says_it_is_on(admin_client: Client, teams):
    response = admin_client.get(REPORT_URL, report_query("user", team=teams[0]))
    body = response.content.decode()
    assert 'name="team"' in body
    assert "charged to team Design" in body
    download = admin_client.get(
        REPORT_URL, {**report_query("user", team=teams[0]), "format": "csv"}
    )
    assert "usage-design-" in download["Content-Disposition"]
