"""Counting provider calls for the health figures, shared by the page and the roll-up.

The page (``generations.usage.health``) adds up final roll-up buckets and reads the calls of the
rest of each window live; the roll-up (``generations.services.provider_health``) counts calls
into buckets. Both count through ``Tally``, so a call counts the same either way.

Latency percentiles: values read live stay exact; a rolled-up bucket keeps a histogram, whose
calls are spread evenly over their bin when percentiles are read. With only live values the
result is PostgreSQL's ``percentile_cont``; with buckets it is off by less than one bin width
(2^(1/16), about 4.4 %).

It sits with the services because the roll-up (a service) writes through it; the report page
above reads through it too.
"""

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Q

from generations.models import Generation, ProviderAttempt, ProviderHealthRollup

# 5 minutes: the page's windows (an hour, a day) are 12 and 288 buckets, so it reads at most
# 300 rows per account however busy the accounts are, while the live part of a window (its
# partial buckets at either end) stays a few minutes of calls.
BUCKET = timedelta(minutes=5)
SUCCESS = (ProviderAttempt.Outcome.SUCCEEDED, ProviderAttempt.Outcome.PARTIAL)
# A failed call's error code (generations.providers.errors) -> the roll-up column counting it.
FAILURE_COLUMNS = {
    "rate_limited": "rate_limited",
    "provider_timeout": "timeouts",
    "auth_failed": "auth_failed",
    "quota_exhausted": "quota_exhausted",
    "provider_unavailable": "unavailable",
    "bad_request": "bad_request",
    "content_refused": "content_refused",
    "bad_response": "bad_response",
}
COUNT_COLUMNS = (
    "calls",
    "finished",
    "succeeded",
    "failed",
    "failovers",
    *FAILURE_COLUMNS.values(),
)
# Latency histogram bins: bin 0 holds [0, 1) ms, bin k >= 1 holds [2^((k-1)/16), 2^(k/16)) ms.
BINS_PER_DOUBLING = 16

# The windows the health page shows; the roll-up keeps buckets for the longest of them.
WINDOWS = (("Last hour", timedelta(hours=1)), ("Last day", timedelta(days=1)))


def bucket_floor(at: datetime) -> datetime:
    """The start of the bucket ``at`` falls in (buckets are aligned to the Unix epoch)."""
    size = BUCKET.total_seconds()
    return datetime.fromtimestamp(math.floor(at.timestamp() / size) * size, tz=UTC)


def bucket_ceil(at: datetime) -> datetime:
    floor = bucket_floor(at)
    return floor if floor == at else floor + BUCKET


def latency_bin(latency_ms: float) -> int:
    if latency_ms < 1:
        return 0
    return math.floor(math.log2(latency_ms) * BINS_PER_DOUBLING) + 1


def bin_bounds(index: int) -> tuple[float, float]:
    if index <= 0:
        return 0.0, 1.0
    return 2 ** ((index - 1) / BINS_PER_DOUBLING), 2 ** (index / BINS_PER_DOUBLING)


class AttemptRow(NamedTuple):
    account_id: int
    started_at: datetime
    outcome: str
    error_code: str
    latency_ms: int | None
    followed: bool
    generation_status: str

    @property
    def settled(self) -> bool:
        """Nothing about this call's figures can change any more."""
        return (
            self.outcome != ProviderAttempt.Outcome.RUNNING
            and self.generation_status in Generation.TERMINAL_STATUSES
        )


def attempt_rows(*, ranges: Sequence[tuple[datetime, datetime | None]]) -> Iterator[AttemptRow]:
    """Calls to existing accounts that started in any of the ``[start, end)`` ranges (no end:
    ``None``). One query; ``followed`` says a later call of the same generation came after it.
    """
    started = Q(pk__in=[])
    for start, end in ranges:
        started |= Q(started_at__gte=start) & (Q() if end is None else Q(started_at__lt=end))
    followed = Exists(
        ProviderAttempt.objects.filter(
            generation_id=OuterRef("generation_id"), id__gt=OuterRef("id")
        )
    )
    rows = (
        ProviderAttempt.objects.filter(started, account__isnull=False)
        .annotate(followed=followed)
        .order_by()
        .values_list(
            "account_id",
            "started_at",
            "outcome",
            "error_code",
            "latency_ms",
            "followed",
            "generation__status",
        )
    )
    for row in rows.iterator(chunk_size=2000):
        yield AttemptRow(*row)


@dataclass
class Tally:
    """Figures of one account over some calls, read live, from roll-ups, or both."""

    counts: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # exact, from calls read live
    histogram: Counter[int] = field(default_factory=Counter)  # bin -> calls, from roll-ups

    def add_attempt(self, row: AttemptRow) -> None:
        counts = self.counts
        counts["calls"] += 1
        if row.outcome != ProviderAttempt.Outcome.RUNNING:
            counts["finished"] += 1
        if row.outcome in SUCCESS:
            counts["succeeded"] += 1
        elif row.outcome == ProviderAttempt.Outcome.FAILED:
            counts["failed"] += 1
        # By the code alone, as the page always counted rate limits (whatever the outcome).
        if row.error_code in FAILURE_COLUMNS:
            counts[FAILURE_COLUMNS[row.error_code]] += 1
        if row.followed:
            counts["failovers"] += 1
        if row.latency_ms is not None:
            self.latencies.append(row.latency_ms)

    def add_rollup(self, rollup: ProviderHealthRollup) -> None:
        for column in COUNT_COLUMNS:
            self.counts[column] += getattr(rollup, column)
        for index, calls in rollup.latency_histogram.items():
            self.histogram[int(index)] += calls

    def latency_histogram(self) -> dict[str, int]:
        """Every latency as histogram bins (JSON keys are strings), for a roll-up row."""
        bins = Counter(self.histogram)
        bins.update(latency_bin(latency) for latency in self.latencies)
        return {str(index): calls for index, calls in sorted(bins.items())}

    def percentiles(self, fractions: Iterable[float]) -> tuple[float | None, ...]:
        """Like PostgreSQL's ``percentile_cont``: exact over live values (see the module)."""
        pieces = [(value, value, 1) for value in self.latencies]
        pieces += [(*bin_bounds(index), calls) for index, calls in self.histogram.items() if calls]
        pieces.sort()
        total = sum(count for _, _, count in pieces)
        if not total:
            return tuple(None for _ in fractions)
        results = []
        for fraction in fractions:
            position = (total - 1) * fraction
            lower = math.floor(position)
            low_value = _value_at_rank(pieces, lower)
            high_value = _value_at_rank(pieces, min(lower + 1, total - 1))
            results.append(low_value + (high_value - low_value) * (position - lower))
        return tuple(results)


def _value_at_rank(pieces: list[tuple[float, float, int]], rank: int) -> float:
    """The ``rank``-th smallest value (from 0), each piece's values spread evenly over it."""
    before = 0
    for low, high, count in pieces:
        if rank < before + count:
            return low + (high - low) * (rank - before + 0.5) / count
        before += count
    raise IndexError(rank)
