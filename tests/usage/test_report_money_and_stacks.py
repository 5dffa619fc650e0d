"""The usage report's money column, its chart stacked by the grouping, provider labels said
once, and the admin's own name."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generations.usage.chart import MAX_SERIES, OTHER, stacked_spend_chart
from generations.usage.dimensions import account_label_with_kind
from generations.usage.table import FIGURE_COLUMNS, Cell, credits_in_usd
from tests.factories import ProviderAccountFactory, UserFactory
from tests.usage.builders import make_generation

pytestmark = pytest.mark.django_db

REPORT_URL = reverse("admin:generations_usage_report")


def query(*group_by: str) -> dict[str, object]:
    today = timezone.localdate()
    return {
        "start": (today - timedelta(days=6)).isoformat(),
        "end": today.isoformat(),
        "group_by": list(group_by),
    }


def money_index() -> int:
    return next(index for index, column in enumerate(FIGURE_COLUMNS) if column.money)


def test_credits_are_priced_in_dollars_from_the_setting(settings):
    settings.CREDIT_VALUE_USD = Decimal("0.001")
    assert credits_in_usd(12_345) == Decimal("12.35")
    settings.CREDIT_VALUE_USD = Decimal("0.01")
    assert credits_in_usd(12_345) == Decimal("123.45")
    assert Cell(value=Decimal("1234.5"), url="").display == "$1,234.50"


def test_the_report_has_a_money_column_for_each_group_and_the_total(admin_client: Client):
    ada, bob = (
        UserFactory(username="ada", credits=10_000),
        UserFactory(username="bob", credits=10_000),
    )
    make_generation(owner=ada, num_images=2, price=300)  # 600 credits
    make_generation(owner=bob, num_images=1, price=1000)  # 1,000 credits
    response = admin_client.get(REPORT_URL, query("user"))
    body = response.content.decode()
    assert "Cost (US$)" in body
    rows = {row.labels[0]: row for row in response.context["rows"]}
    assert rows["ada"].cells[money_index()].display == "$0.60"
    assert rows["bob"].cells[money_index()].display == "$1.00"
    assert rows["Total"].cells[money_index()].display == "$1.60"
    assert "$1.60" in body


def test_the_chart_is_stacked_by_the_first_grouping(admin_client: Client):
    ada, bob = (
        UserFactory(username="ada", credits=10_000),
        UserFactory(username="bob", credits=10_000),
    )
    make_generation(owner=ada, price=300)
    make_generation(owner=bob, price=100)
    make_generation(owner=bob, price=100, created_at=timezone.now() - timedelta(days=2))
    response = admin_client.get(REPORT_URL, query("user", "model"))
    chart = response.context["chart"]
    assert chart.stacked
    assert [(entry.label, entry.credits) for entry in chart.legend] == [("ada", 300), ("bob", 200)]
    body = response.content.decode()
    assert "Credits captured per day, by user" in body
    assert 'class="bar series-0"' in body
    assert 'class="bar series-1"' in body
    assert 'class="usage-legend"' in body
    assert " style=" not in body.split('class="usage-chart"')[1].split("</div>")[0]
    # By day alone there is nothing to stack by: one series, no legend.
    single = admin_client.get(REPORT_URL, query("day")).context["chart"]
    assert not single.stacked


def test_stacked_segments_sit_on_each_other_and_small_groups_share_other():
    day = date(2026, 12, 1)
    daily = [(day, f"user{number}", 10 * (number + 1)) for number in range(MAX_SERIES + 2)]
    chart = stacked_spend_chart(
        daily=daily, labels={key: key for _, key, _ in daily}, first=day, last=day
    )
    assert len(chart.legend) == MAX_SERIES
    assert chart.legend[-1].label == OTHER
    assert chart.legend[-1].credits == 10 + 20 + 30
    assert chart.total == sum(credits for _, _, credits in daily)
    bars = sorted(chart.bars, key=lambda bar: -bar.y)  # bottom first
    for lower, upper in itertools.pairwise(bars):
        assert upper.y + upper.height == pytest.approx(lower.y, abs=0.02)


def test_a_provider_label_that_names_its_kind_is_not_doubled(admin_client: Client):
    assert account_label_with_kind("Demo renderer (local)", "local") == "Demo renderer (local)"
    assert account_label_with_kind("Ark (team)", "ark") == "Ark (team) (ark)"
    account = ProviderAccountFactory(kind="local", label="Demo renderer (local)")
    owner = UserFactory(credits=1000)
    make_generation(
        owner=owner,
        attempts=[
            {
                "account": account,
                "outcome": "succeeded",
                "images": 1,
                "usage": {},
                "latency_ms": 100,
                "error_code": "",
                "request_id": "",
            }
        ],
    )
    body = admin_client.get(REPORT_URL, query("provider_account")).content.decode()
    assert "Demo renderer (local)" in body
    assert "(local) (local)" not in body


def test_the_admin_is_branded(admin_client: Client):
    body = admin_client.get(reverse("admin:index")).content.decode()
    assert "Seedream Studio" in body
    assert "Django administration" not in body
    assert "<title>Administration | Seedream Studio admin</title>" in body
