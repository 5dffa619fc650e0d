"""The usage report's figures, on a hand-built history with known answers and on demo data."""

from datetime import date, datetime, timedelta

import pytest
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import CreditEntry
from generations.models import Generation, OutputImage
from generations.usage.dimensions import day_bounds
from generations.usage.expressions import percentile_cont
from generations.usage.report import UsageFigures, UsageReport, usage_report
from tests.usage.builders import attempt_spec, make_generation

pytestmark = pytest.mark.django_db


def report_range(days: int = 7) -> tuple[datetime, datetime]:
    today = timezone.localdate()
    return day_bounds(today - timedelta(days=days - 1))[0], day_bounds(today)[1]


def at(days_ago: int, hour: int) -> datetime:
    return day_bounds(timezone.localdate() - timedelta(days=days_ago))[0] + timedelta(hours=hour)


@pytest.fixture
def history(user, other_user, api_key, ark, fal) -> dict[str, Generation]:
    """Five generations in the last week (and one long before) with every kind of outcome."""
    ok = {"generated_images": 2, "output_tokens": 8192}
    return {
        "g1": make_generation(
            owner=user,
            api_key=api_key,
            num_images=2,
            seconds=10,
            created_at=at(2, 10),
            attempts=[attempt_spec(ark, images=2, usage=ok, request_id="ark-req-1")],
        ),
        "g2": make_generation(
            owner=user,
            status="failed",
            seconds=3,
            created_at=at(2, 11),
            attempts=[
                attempt_spec(ark, outcome="failed", error_code="rate_limited", latency_ms=400),
                attempt_spec(fal, outcome="failed", error_code="server_error", latency_ms=2000),
            ],
        ),
        "g3": make_generation(
            owner=user,
            model="seedream-4.5",
            price=40,
            seconds=20,
            created_at=at(1, 9),
            attempts=[
                attempt_spec(ark, outcome="failed", error_code="rate_limited", latency_ms=400),
                attempt_spec(fal, images=1, usage={"generated_images": 1}, request_id="fal-7"),
            ],
        ),
        "g4": make_generation(
            owner=other_user,
            num_images=3,
            delivered=2,
            seconds=30,
            created_at=at(2, 12),
            attempts=[
                attempt_spec(ark, outcome="partial", images=2, usage={"generated_images": 3})
            ],
        ),
        "g5": make_generation(owner=other_user, created_at=at(40, 10), attempts=[]),
        "g6": make_generation(owner=user, status="canceled", created_at=at(1, 10), attempts=[]),
    }


def figures_by_label(report: UsageReport) -> dict[tuple[str, ...], UsageFigures]:
    return {row.labels: row.figures for row in report.rows}


def test_grouped_by_user_gives_each_figure(history, user, other_user):
    start, end = report_range()
    report = usage_report(start=start, end=end, group_by=["user"])

    figures = figures_by_label(report)
    mine = figures[(user.username,)]
    assert (mine.generations, mine.failures, mine.images_delivered) == (4, 1, 3)
    assert (mine.credits_captured, mine.credits_released) == (60 + 40, 30 + 30)
    assert (mine.provider_images, mine.provider_output_tokens) == (3, 8192)
    assert mine.median_ms == pytest.approx(15_000)
    assert mine.p95_ms == pytest.approx(19_500)
    theirs = figures[(other_user.username,)]
    assert (theirs.generations, theirs.images_delivered, theirs.credits_captured) == (1, 2, 60)
    assert (theirs.credits_released, theirs.provider_images) == (30, 3)
    assert theirs.provider_output_tokens is None  # that provider reports no tokens
    assert report.total == UsageFigures(
        generations=5,
        failures=1,
        images_delivered=5,
        credits_captured=160,
        credits_released=90,
        provider_images=6,
        provider_output_tokens=8192,
        median_ms=pytest.approx(20_000),
        p95_ms=pytest.approx(29_000),
    )


def test_provider_account_grouping_counts_each_generation_at_its_last_attempt(history):
    start, end = report_range()
    report = usage_report(start=start, end=end, group_by=["provider_account"])

    figures = figures_by_label(report)
    ark, fal, none = (
        figures[("Ark (team) (ark)",)],
        figures[("fal (team) (fal)",)],
        figures[("no provider call",)],
    )
    assert (ark.generations, ark.images_delivered, ark.credits_captured) == (2, 4, 120)
    assert (fal.generations, fal.failures, fal.images_delivered, fal.credits_captured) == (
        2,
        1,
        1,
        40,
    )
    assert (none.generations, none.credits_released) == (1, 30)
    assert sum(row.figures.generations for row in report.rows) == report.total.generations


def test_api_key_model_and_day_groupings(history, api_key):
    start, end = report_range()

    by_key = figures_by_label(usage_report(start=start, end=end, group_by=["api_key"]))
    assert by_key[(f"render farm (abcdef123456…, {api_key.user.username})",)].generations == 1
    assert by_key[("no key (browser)",)].generations == 4

    by_model = figures_by_label(usage_report(start=start, end=end, group_by=["model"]))
    assert by_model[("Seedream 4.5",)].credits_captured == 40
    assert by_model[("Seedream 4.0",)].generations == 4

    by_day = usage_report(start=start, end=end, group_by=["day"])
    two_days_ago = (timezone.localdate() - timedelta(days=2)).isoformat()
    assert [row.labels[0] for row in by_day.rows] == sorted(row.labels[0] for row in by_day.rows)
    assert figures_by_label(by_day)[(two_days_ago,)].generations == 3
    assert by_day.daily_spend == [
        (timezone.localdate() - timedelta(days=2), 120),
        (timezone.localdate() - timedelta(days=1), 40),
    ]


def test_no_grouping_gives_the_total_only(history):
    start, end = report_range()
    report = usage_report(start=start, end=end, group_by=[])
    assert [row.key for row in report.rows] == [()]
    assert report.rows[0].figures.generations == report.total.generations == 5


def test_unknown_grouping_is_refused(db):
    start, end = report_range()
    with pytest.raises(ValueError, match="Unknown grouping"):
        usage_report(start=start, end=end, group_by=["prompt"])


def test_percentiles_interpolate_like_postgres():
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([7.0], 0.95) == 7.0
    assert percentile_cont([10.0, 20.0], 0.5) == 15.0
    assert percentile_cont([10.0, 20.0, 30.0], 0.95) == pytest.approx(29.0)
    assert percentile_cont([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5


def _ledger_totals(start: datetime, end: datetime) -> tuple[int, int]:
    in_range = CreditEntry.objects.filter(
        generation__created_at__gte=start, generation__created_at__lt=end
    )
    captured = in_range.filter(kind="capture").aggregate(total=Sum(-F("held_change")))["total"]
    released = in_range.filter(kind="release").aggregate(total=Sum("amount"))["total"]
    return captured or 0, released or 0


@pytest.mark.parametrize(
    "group_by",
    [
        ["user"],
        ["api_key"],
        ["model"],
        ["provider_account"],
        ["day"],
        ["user", "model"],
        ["provider_account", "day"],
    ],
)
def test_every_grouping_adds_up_to_the_ledger(seeded, group_by):
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
    for name in (
        "generations",
        "failures",
        "images_delivered",
        "credits_captured",
        "credits_released",
    ):
        assert sum(getattr(row.figures, name) for row in report.rows) == getattr(report.total, name)
    assert sum(credits for _, credits in report.daily_spend) == report.total.credits_captured


def test_rows_beyond_the_limit_are_counted_but_not_listed(seeded):
    start, end = report_range(days=30)
    report = usage_report(start=start, end=end, group_by=["day"], max_rows=3)
    assert len(report.rows) == 3
    assert report.truncated
    assert report.group_count > 3
    assert report.total.generations == Generation.objects.filter(created_at__gte=start).count()


def test_day_keys_are_dates(seeded):
    start, end = report_range(days=30)
    report = usage_report(start=start, end=end, group_by=["day"])
    assert all(isinstance(row.key[0], date) for row in report.rows)
