"""The provider health roll-up: calls counted per account and 5-minute bucket (celery beat).

Each run recomputes every bucket from the progress mark (``settled_until``) up to the current,
partial bucket, and writes them: one row per account with calls in the bucket, replacing what
an earlier run wrote there. Recomputing a bucket gives the same row, so a run repeated, or
two at once, change nothing; a call that finishes late is counted in its bucket by the next run.

A bucket is settled, and the mark moves past it, once it ended ``SETTLE_MARGIN`` ago (calls
whose row was still being committed are in) and every call in it has ended along with its
generation (no failover can follow). A bucket older than the generation deadline plus
``SETTLE_MAX_EXTRA`` is settled regardless, so one call left open by a fault cannot hold the
mark back for ever (the reaper ends such generations long before).

The first run starts a day back (the health page's longest window), as does a run after beat
was stopped for longer than that: buckets before ``covered_from`` are not read by the page.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from generations.models import ProviderHealthRollup, ProviderHealthRollupProgress
from generations.models.health_rollup import ROLLUP_PROGRESS_ID
from generations.services.health_tally import (
    BUCKET,
    COUNT_COLUMNS,
    WINDOWS,
    Tally,
    attempt_rows,
    bucket_floor,
)

logger = logging.getLogger(__name__)

SETTLE_MARGIN = timedelta(minutes=1)
SETTLE_MAX_EXTRA = timedelta(minutes=15)
BACKFILL = max(length for _, length in WINDOWS)


@dataclass(frozen=True)
class RollupResult:
    start: datetime  # the first bucket recomputed
    end: datetime  # the current bucket, not rolled up
    rows: int
    settled_until: datetime
    written: bool  # False when a run that began later had already written


def provider_health_rollup(*, now: datetime | None = None) -> RollupResult:
    """Recompute the unsettled buckets and move the progress mark; see the module docstring.

    Counting happens outside any transaction (on SQLite a transaction holds the write lock);
    the rows and the mark are then written in one, under the progress row's lock. A run that
    finds the mark written by a run that began after it leaves it alone: that run saw more.
    """
    run_started_at = timezone.now()
    now = now or run_started_at
    earliest = bucket_floor(now - BACKFILL)
    progress = ProviderHealthRollupProgress.objects.filter(pk=ROLLUP_PROGRESS_ID).first()
    if progress is None or progress.settled_until < earliest:
        start = covered_from = earliest
    else:
        start, covered_from = progress.settled_until, progress.covered_from
    # A clock behind the one of the previous run's machine leaves the mark where it is.
    end = max(bucket_floor(now), start)

    tallies: dict[tuple[int, datetime], Tally] = defaultdict(Tally)
    unsettled: set[datetime] = set()
    for row in attempt_rows(ranges=[(start, end)]):
        bucket = bucket_floor(row.started_at)
        tallies[(row.account_id, bucket)].add_attempt(row)
        if not row.settled:
            unsettled.add(bucket)
    settled_until = _settled_until(start=start, end=end, now=now, unsettled=unsettled)
    rows = [
        ProviderHealthRollup(
            account_id=account_id,
            bucket_start=bucket,
            computed_at=run_started_at,
            latency_histogram=tally.latency_histogram(),
            **{column: tally.counts[column] for column in COUNT_COLUMNS},
        )
        for (account_id, bucket), tally in sorted(tallies.items())
    ]

    with transaction.atomic(durable=True):
        ProviderHealthRollupProgress.objects.get_or_create(
            pk=ROLLUP_PROGRESS_ID,
            defaults={
                "covered_from": covered_from,
                "settled_until": start,
                "run_started_at": run_started_at,
            },
        )
        locked = ProviderHealthRollupProgress.objects.select_for_update().get(pk=ROLLUP_PROGRESS_ID)
        if locked.run_started_at > run_started_at:
            return RollupResult(
                start=start, end=end, rows=0, settled_until=locked.settled_until, written=False
            )
        ProviderHealthRollup.objects.filter(bucket_start__gte=start, bucket_start__lt=end).delete()
        ProviderHealthRollup.objects.bulk_create(rows, batch_size=500)
        locked.covered_from = covered_from
        locked.settled_until = settled_until
        locked.run_started_at = run_started_at
        locked.save()
    if end - settled_until > BUCKET * 6:
        logger.info("provider health: buckets from %s still open", settled_until.isoformat())
    return RollupResult(
        start=start, end=end, rows=len(rows), settled_until=settled_until, written=True
    )


def _settled_until(
    *, start: datetime, end: datetime, now: datetime, unsettled: set[datetime]
) -> datetime:
    """The first bucket in ``[start, end)`` that is not final yet, else ``end``."""
    settle_anyway_before = (
        now - timedelta(seconds=settings.GENERATION_DEADLINE_S) - SETTLE_MAX_EXTRA
    )
    bucket = start
    while bucket < end:
        bucket_end = bucket + BUCKET
        if bucket_end > now - SETTLE_MARGIN:
            return bucket
        if bucket in unsettled and bucket_end > settle_anyway_before:
            return bucket
        bucket = bucket_end
    return end
