"""The provider health roll-up (celery beat) and the health page reading it."""

from datetime import datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from generations.models import (
    Generation,
    ProviderAttempt,
    ProviderHealthRollup,
    ProviderHealthRollupProgress,
)
from generations.services.health_tally import (
    BINS_PER_DOUBLING,
    BUCKET,
    Tally,
    bucket_floor,
    latency_bin,
)
from generations.services.provider_health import provider_health_rollup
from generations.tasks import rollup_provider_health_task
from generations.usage.expressions import percentile_cont
from generations.usage.health import AccountHealth, provider_health
from seedream_site.celery import app
from tests.factories import ProviderAttemptFactory
from tests.usage.builders import attempt_spec, make_generation

pytestmark = pytest.mark.django_db

# Rolled-up percentiles are off by less than one histogram bin.
BIN_WIDTH = 2 ** (1 / BINS_PER_DOUBLING) - 1


@pytest.fixture
def now() -> datetime:
    """Two and a half minutes into a bucket."""
    return bucket_floor(timezone.now()) + timedelta(minutes=2, seconds=30)


@pytest.fixture
def history(user, ark, fal, now) -> None:
    """Calls spread over the last day, the last hour and the current bucket."""
    for minutes_ago, latency in [(3, 900), (14, 1500), (40, 2500), (70, 700), (300, 4200)]:
        make_generation(  # ark is rate limited, fal delivers: a failover at ark
            owner=user,
            created_at=now - timedelta(minutes=minutes_ago),
            attempts=[
                attempt_spec(ark, outcome="failed", error_code="rate_limited", latency_ms=300),
                attempt_spec(fal, images=1, latency_ms=latency),
            ],
        )
    for minutes_ago in range(1, 1400, 37):
        make_generation(
            owner=user,
            created_at=now - timedelta(minutes=minutes_ago),
            attempts=[attempt_spec(ark, images=1, latency_ms=1000 + 17 * minutes_ago)],
        )
    make_generation(  # a timeout, then a content refusal ends it
        owner=user,
        status="failed",
        delivered=0,
        created_at=now - timedelta(minutes=50),
        attempts=[
            attempt_spec(ark, outcome="failed", error_code="provider_timeout", latency_ms=9000),
            attempt_spec(fal, outcome="failed", error_code="content_refused", latency_ms=500),
        ],
    )


def same_meaning(rolled: AccountHealth, live: AccountHealth) -> None:
    counts = ("calls", "finished", "succeeded", "rate_limited", "failovers", "auto_disables")
    assert {name: getattr(rolled, name) for name in counts} == {
        name: getattr(live, name) for name in counts
    }
    assert rolled.p50_ms == pytest.approx(live.p50_ms, rel=BIN_WIDTH)
    assert rolled.p95_ms == pytest.approx(live.p95_ms, rel=BIN_WIDTH)


def test_the_page_shows_the_same_figures_from_the_rollup(history, ark, fal, now):
    live = provider_health(now=now)  # no roll-up yet: every call read live

    result = provider_health_rollup(now=now)
    assert result.written
    assert result.settled_until == bucket_floor(now)
    rolled = provider_health(now=now)

    for live_window, rolled_window in zip(live.windows, rolled.windows, strict=True):
        assert rolled_window.since == live_window.since
        for account in (ark, fal):
            same_meaning(rolled_window.of(account), live_window.of(account))
    assert rolled.windows[1].of(ark).calls == 44

    # The settled buckets are read from the roll-up alone: their calls no longer matter.
    whole_buckets = bucket_floor(now - timedelta(hours=1)) + BUCKET
    ProviderAttempt.objects.filter(
        started_at__gte=whole_buckets, started_at__lt=bucket_floor(now)
    ).delete()
    again = provider_health(now=now)
    for rolled_window, again_window in zip(rolled.windows, again.windows, strict=True):
        for account in (ark, fal):
            assert again_window.of(account) == rolled_window.of(account)


def test_the_page_renders_from_the_rollup(admin_client, history):
    provider_health_rollup()
    page = admin_client.get(reverse("admin:generations_provider_health"))
    assert page.status_code == 200
    assert "Ark (team)" in page.content.decode()
    assert "roll-up kept by celery beat" in page.content.decode()


def test_rollup_rows_count_calls_by_kind_of_failure(history, ark, fal, now):
    provider_health_rollup(now=now)
    bucket = bucket_floor(now - timedelta(minutes=50))
    ark_row = ProviderHealthRollup.objects.get(account=ark, bucket_start=bucket)
    fal_row = ProviderHealthRollup.objects.get(account=fal, bucket_start=bucket)
    assert (ark_row.calls, ark_row.failed, ark_row.timeouts, ark_row.failovers) == (1, 1, 1, 1)
    assert (fal_row.calls, fal_row.failed, fal_row.content_refused, fal_row.succeeded) == (
        1,
        1,
        1,
        0,
    )
    assert ark_row.latency_histogram == {str(latency_bin(9000)): 1}

    totals = {
        account.pk: sum(
            ProviderHealthRollup.objects.filter(account=account).values_list("calls", flat=True)
        )
        for account in (ark, fal)
    }
    started = ProviderAttempt.objects.filter(
        started_at__gte=bucket_floor(now - timedelta(days=1)), started_at__lt=bucket_floor(now)
    )
    assert totals == {
        ark.pk: started.filter(account=ark).count(),
        fal.pk: started.filter(account=fal).count(),
    }


def rows() -> list[dict]:
    names = [
        field.attname
        for field in ProviderHealthRollup._meta.fields
        if field.name not in ("id", "computed_at")
    ]
    return list(ProviderHealthRollup.objects.order_by("bucket_start", "account").values(*names))


def test_rolling_up_again_gives_the_same_rows(history, now):
    provider_health_rollup(now=now)
    first = rows()
    assert first

    assert provider_health_rollup(now=now).written
    assert rows() == first
    later = provider_health_rollup(now=now + BUCKET)
    assert later.start == bucket_floor(now)  # only what was not settled yet
    after = rows()
    assert after[: len(first)] == first
    assert {row["bucket_start"] for row in after[len(first) :]} == {bucket_floor(now)}


def test_a_late_finishing_call_lands_in_its_bucket_on_the_next_run(user, ark, now):
    generation = make_generation(
        owner=user, status="running", delivered=0, created_at=now - timedelta(minutes=12)
    )
    started_at = now - timedelta(minutes=12)
    attempt = ProviderAttemptFactory(generation=generation, account=ark, started_at=started_at)
    bucket = bucket_floor(started_at)

    first = provider_health_rollup(now=now)
    row = ProviderHealthRollup.objects.get(account=ark, bucket_start=bucket)
    assert (row.calls, row.finished, row.succeeded) == (1, 0, 0)
    assert first.settled_until == bucket  # still running: read live by the page
    assert provider_health(now=now).windows[0].of(ark).calls == 1

    ProviderAttempt.objects.filter(pk=attempt.pk).update(
        outcome="succeeded", latency_ms=700_000, finished_at=now + BUCKET
    )
    Generation.objects.filter(pk=generation.pk).update(status="succeeded")
    second = provider_health_rollup(now=now + BUCKET)
    row = ProviderHealthRollup.objects.get(account=ark, bucket_start=bucket)
    assert (row.calls, row.finished, row.succeeded) == (1, 1, 1)
    assert row.latency_histogram == {str(latency_bin(700_000)): 1}
    assert second.settled_until == bucket_floor(now + BUCKET)


def test_a_bucket_waits_while_its_generation_may_still_fail_over(user, ark, now):
    generation = make_generation(
        owner=user,
        status="running",
        delivered=0,
        created_at=now - timedelta(minutes=20),
        attempts=[attempt_spec(ark, outcome="failed", error_code="provider_unavailable")],
    )
    bucket = bucket_floor(now - timedelta(minutes=20))
    assert provider_health_rollup(now=now).settled_until == bucket

    Generation.objects.filter(pk=generation.pk).update(status="failed")
    assert provider_health_rollup(now=now).settled_until == bucket_floor(now)
    assert ProviderHealthRollup.objects.get(account=ark).unavailable == 1


def test_a_call_left_open_by_a_fault_does_not_hold_the_rollup_back_for_ever(user, ark, now):
    stuck = make_generation(owner=user, status="running", delivered=0, created_at=now)
    old = now - timedelta(seconds=django_settings.GENERATION_DEADLINE_S) - timedelta(minutes=20)
    ProviderAttemptFactory(generation=stuck, account=ark, started_at=old)
    assert provider_health_rollup(now=now).settled_until == bucket_floor(now)


def test_the_first_run_and_a_run_after_a_long_pause_start_a_day_back(history, now):
    first = provider_health_rollup(now=now)
    day_back = bucket_floor(now - timedelta(days=1))
    assert first.start == day_back
    progress = ProviderHealthRollupProgress.objects.get()
    assert (progress.covered_from, progress.settled_until) == (day_back, bucket_floor(now))

    three_days_on = now + timedelta(days=3)
    provider_health_rollup(now=three_days_on)
    progress.refresh_from_db()
    assert progress.covered_from == bucket_floor(three_days_on - timedelta(days=1))
    assert provider_health(now=three_days_on).windows[1].by_account == {}


def test_a_run_that_began_earlier_leaves_a_later_runs_rows_alone(history, now):
    provider_health_rollup(now=now)
    before = rows()
    ProviderHealthRollupProgress.objects.update(run_started_at=timezone.now() + timedelta(hours=1))
    ProviderHealthRollup.objects.update(calls=0)

    result = provider_health_rollup(now=now + BUCKET)

    assert not result.written
    assert all(row["calls"] == 0 for row in rows())
    assert len(rows()) == len(before)


def test_calls_of_the_current_bucket_are_read_live(history, user, ark, now):
    provider_health_rollup(now=now)
    before = provider_health(now=now).windows[0].of(ark).calls
    make_generation(
        owner=user,
        created_at=bucket_floor(now) + timedelta(seconds=10),
        attempts=[attempt_spec(ark, images=1)],
    )
    assert provider_health(now=now).windows[0].of(ark).calls == before + 1


def test_the_page_reads_the_same_few_queries_however_many_calls(history, user, ark, now):
    provider_health_rollup(now=now)
    with CaptureQueriesContext(connection) as before:
        provider_health(now=now)
    for minutes_ago in range(20, 600, 29):
        make_generation(
            owner=user,
            created_at=now - timedelta(minutes=minutes_ago),
            attempts=[attempt_spec(ark, images=1)],
        )
    provider_health_rollup(now=now + BUCKET)
    with CaptureQueriesContext(connection) as after:
        provider_health(now=now + BUCKET)
    assert len(after) == len(before) == 5


def test_percentiles_from_histograms_stay_within_a_bin_of_the_exact_ones():
    values = sorted([120, 450, 451, 800, 1_000, 2_300, 2_900, 7_000, 15_000, 61_000, 180_000])
    rolled = Tally()
    rolled.histogram.update(latency_bin(value) for value in values)
    live = Tally(latencies=list(values))
    fractions = (0.05, 0.5, 0.9, 0.95, 0.99)
    exact = tuple(percentile_cont(values, fraction) for fraction in fractions)
    assert live.percentiles(fractions) == pytest.approx(exact)
    for approximate, expected in zip(rolled.percentiles(fractions), exact, strict=True):
        assert approximate == pytest.approx(expected, rel=BIN_WIDTH)
    assert Tally().percentiles((0.5,)) == (None,)


def test_beat_runs_the_rollup_every_five_minutes(ark, user):
    assert django_settings.CELERY_BEAT_SCHEDULE["rollup-provider-health"] == {
        "task": "generations.rollup_provider_health",
        "schedule": 300.0,
    }
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    assert "generations.rollup_provider_health" in app.tasks
    make_generation(owner=user, attempts=[attempt_spec(ark, images=1)])

    rollup_provider_health_task.delay()  # eager in tests: the beat task's entry point, run now

    assert ProviderHealthRollupProgress.objects.exists()
    assert ProviderHealthRollup.objects.get(account=ark).calls == 1


def test_attempts_are_indexed_by_start_and_finish():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(
            cursor, ProviderAttempt._meta.db_table
        )
    indexed = {tuple(c["columns"]) for c in constraints.values() if c["index"]}
    assert {("started_at",), ("finished_at",)} <= indexed
