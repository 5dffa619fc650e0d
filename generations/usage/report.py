"""The usage report: per group of generations, what was asked, delivered, charged and reported.

A generation belongs to the range by its ``created_at`` and is counted with everything that
followed from it (its images, its ledger entries, its provider attempts), even when those came
a little after the range ended; soft-deleted generations count too, since they were paid for.

Each family of figures is one grouped query on its own table (generations, output images,
ledger entries, attempts) rather than one query joining them all: joins would multiply rows
(a generation with 4 images and 3 attempts is 12 rows) and the sums with them. The queries run
in a fixed number however many rows there are: 7 to 9 in all, with the labels and the chart.
"""

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum

from accounts.models import CreditEntry
from generations.models import Generation, OutputImage, ProviderAttempt
from generations.usage.dimensions import (
    DIMENSIONS,
    GENERATION_SOURCE,
    RELATED_SOURCE,
    Dimension,
    Source,
)
from generations.usage.expressions import (
    DayOf,
    DurationMs,
    JsonCount,
    grouped_percentiles,
    sqlite_read_hint,
)

# The report page stops listing groups here (its totals still cover every group), so a range
# grouped by user, model and day cannot produce a page no browser can render.
MAX_ROWS = 2000
PERCENTILES = (0.5, 0.95)

GroupKey = tuple[Hashable, ...]


@dataclass(frozen=True)
class UsageFigures:
    generations: int = 0
    failures: int = 0
    images_delivered: int = 0
    credits_captured: int = 0
    credits_released: int = 0
    # None: the provider reported nothing of the kind for any attempt of the group.
    provider_images: int | None = None
    provider_output_tokens: int | None = None
    # Time from start to finish of the group's succeeded generations, in milliseconds.
    median_ms: float | None = None
    p95_ms: float | None = None


ADDITIVE_FIGURES = (
    "generations",
    "failures",
    "images_delivered",
    "credits_captured",
    "credits_released",
    "provider_images",
    "provider_output_tokens",
)


@dataclass(frozen=True)
class UsageRow:
    key: GroupKey  # raw values, one per dimension (user id, model id, date …)
    labels: tuple[str, ...]
    figures: UsageFigures


@dataclass(frozen=True)
class UsageReport:
    start: datetime
    end: datetime  # exclusive
    group_by: tuple[str, ...]
    rows: list[UsageRow]  # at most MAX_ROWS
    group_count: int  # every group, shown or not
    total: UsageFigures
    daily_spend: list[tuple[date, int]] = field(default_factory=list)
    team_id: int | None = None  # the report is of this team's wallet only
    # Credits captured per day and per group of ``stacked_by`` (the first grouping column
    # other than the day), for the chart's stacked bars; empty without such a column.
    stacked_by: str = ""
    daily_spend_by_group: list[tuple[date, Hashable, int]] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.group_count > len(self.rows)

    @property
    def dimensions(self) -> list[Dimension]:
        return [DIMENSIONS[name] for name in self.group_by]


def usage_report(
    *,
    start: datetime,
    end: datetime,
    group_by: Sequence[str],
    max_rows: int = MAX_ROWS,
    team_id: int | None = None,
) -> UsageReport:
    """Figures for generations created in ``[start, end)``, grouped by ``group_by``.

    ``group_by`` names dimensions of ``generations.usage.dimensions.DIMENSIONS``, in the order
    the columns should appear; an empty sequence gives one row for the whole range.
    ``team_id`` keeps only the generations charged to that team's wallet (the team pages'
    spending is this report, so the two always agree).
    """
    unknown = [name for name in group_by if name not in DIMENSIONS]
    if unknown:
        raise ValueError(f"Unknown grouping: {', '.join(unknown)}.")
    dimensions = [DIMENSIONS[name] for name in group_by]
    names = [f"key_{dimension.name}" for dimension in dimensions]
    figures: dict[GroupKey, dict[str, Any]] = {}
    sqlite_read_hint()

    def grouped(queryset: QuerySet[Any], source: Source) -> QuerySet[Any]:
        """``queryset`` with the group keys, ready for ``values(*names)``."""
        annotations: dict[str, Any] = {}
        for name, dimension in zip(names, dimensions, strict=True):
            annotations.update(dimension.helpers(source))
            annotations[name] = dimension.key(source)
        queryset = queryset.annotate(**annotations)
        for dimension in dimensions:
            restriction = dimension.restriction(source)
            if restriction is not None:
                queryset = queryset.filter(restriction)
        return queryset.order_by()

    def merge(queryset: QuerySet[Any], **aggregates: Any) -> None:
        # No grouping: one row for the range (values() without names would mean every column).
        rows = (
            queryset.values(*names).annotate(**aggregates)
            if names
            else [queryset.aggregate(**aggregates)]
        )
        for row in rows:
            slot = figures.setdefault(tuple(row[name] for name in names), {})
            for metric in aggregates:
                slot[metric] = row[metric]

    in_range = Q(created_at__gte=start, created_at__lt=end)
    related_in_range = Q(generation__created_at__gte=start, generation__created_at__lt=end)
    if team_id is not None:
        in_range &= Q(wallet__team_id=team_id)
        related_in_range &= Q(generation__wallet__team_id=team_id)

    generations = Generation.objects.filter(in_range)
    merge(
        grouped(generations, GENERATION_SOURCE),
        generations=Count("pk"),
        failures=Count("pk", filter=Q(status=Generation.Status.FAILED)),
    )
    merge(
        grouped(OutputImage.objects.filter(related_in_range), RELATED_SOURCE),
        images_delivered=Count("pk"),
    )
    capture, release = CreditEntry.Kind.CAPTURE, CreditEntry.Kind.RELEASE
    ledger = CreditEntry.objects.filter(related_in_range, kind__in=[capture, release])
    merge(
        grouped(ledger, RELATED_SOURCE),
        # A capture moves credits out of held (held_change < 0, available unchanged); a
        # release moves them from held back to available (amount > 0).
        credits_captured=Sum(-F("held_change"), filter=Q(kind=capture)),
        credits_released=Sum("amount", filter=Q(kind=release)),
    )
    merge(
        grouped(ProviderAttempt.objects.filter(related_in_range), RELATED_SOURCE),
        provider_images=Sum(JsonCount("usage", key="generated_images")),
        provider_output_tokens=Sum(JsonCount("usage", key="output_tokens")),
    )
    durations, overall = grouped_percentiles(
        grouped(generations.filter(status=Generation.Status.SUCCEEDED), GENERATION_SOURCE),
        keys=names,
        value=DurationMs("started_at", "finished_at"),
        fractions=PERCENTILES,
        overall=True,
        parse_key=lambda raw: tuple(
            dimension.parse_raw(part) for dimension, part in zip(dimensions, raw, strict=True)
        ),
    )
    for key, (median, p95) in durations.items():
        slot = figures.setdefault(key, {})
        slot["median_ms"], slot["p95_ms"] = median, p95

    rows = _rows(figures, dimensions)
    total = _total([row.figures for row in rows], median_ms=overall[0], p95_ms=overall[1])
    captures = ledger.filter(kind=capture)
    stack = next((dimension for dimension in dimensions if dimension.name != "day"), None)
    by_group = _daily_spend_by(captures, stack) if stack is not None else []
    if stack is not None:
        # The day totals are the sum of the groups': the same query serves both.
        per_day: dict[date, int] = {}
        for day, _key, credits in by_group:
            per_day[day] = per_day.get(day, 0) + credits
        daily = sorted(per_day.items())
    else:
        daily = _daily_spend(captures)
    return UsageReport(
        start=start,
        end=end,
        team_id=team_id,
        group_by=tuple(group_by),
        rows=rows[:max_rows],
        group_count=len(rows),
        total=total,
        daily_spend=daily,
        stacked_by=stack.name if stack is not None else "",
        daily_spend_by_group=by_group,
    )


def _figures(values: dict[str, Any]) -> UsageFigures:
    # Sums over no rows come back NULL: a group with generations but no capture spent 0.
    return UsageFigures(
        generations=values.get("generations") or 0,
        failures=values.get("failures") or 0,
        images_delivered=values.get("images_delivered") or 0,
        credits_captured=values.get("credits_captured") or 0,
        credits_released=values.get("credits_released") or 0,
        provider_images=values.get("provider_images"),
        provider_output_tokens=values.get("provider_output_tokens"),
        median_ms=values.get("median_ms"),
        p95_ms=values.get("p95_ms"),
    )


def _rows(figures: dict[GroupKey, dict[str, Any]], dimensions: list[Dimension]) -> list[UsageRow]:
    labels = [
        dimension.labels({key[index] for key in figures})
        for index, dimension in enumerate(dimensions)
    ]
    rows = [
        UsageRow(
            key=key,
            labels=tuple(labels[index].get(part, f"#{part}") for index, part in enumerate(key)),
            figures=_figures(values),
        )
        for key, values in figures.items()
    ]
    has_day = any(dimension.name == "day" for dimension in dimensions)

    def order(row: UsageRow) -> tuple[Any, ...]:
        by_label = tuple(
            dimension.sort_value(part, label)
            for dimension, part, label in zip(dimensions, row.key, row.labels, strict=True)
        )
        # Over days, read in time order; otherwise the biggest spenders first.
        return by_label if has_day else (-row.figures.credits_captured, by_label)

    rows.sort(key=order)
    return rows


def _total(figures: list[UsageFigures], *, median_ms: Any, p95_ms: Any) -> UsageFigures:
    sums: dict[str, Any] = {}
    for name in ADDITIVE_FIGURES:
        reported = [getattr(one, name) for one in figures if getattr(one, name) is not None]
        sums[name] = sum(reported) if reported or name in ADDITIVE_FIGURES[:5] else None
    return replace(UsageFigures(**sums), median_ms=median_ms, p95_ms=p95_ms)


def _daily_spend(captures: QuerySet[CreditEntry]) -> list[tuple[date, int]]:
    """Credits captured per day of generation creation (as the table counts them), oldest first.

    A query of its own: splitting the grouped ledger query by day as well was slower on
    PostgreSQL (tens of thousands of groups to sort and return) for one less pass.
    """
    rows = (
        captures.annotate(day=DayOf("generation__created_at"))
        .values("day")
        .annotate(credits=Sum(-F("held_change")))
        .order_by("day")
    )
    return [(row["day"], row["credits"] or 0) for row in rows]


def _daily_spend_by(
    captures: QuerySet[CreditEntry], dimension: Dimension
) -> list[tuple[date, Hashable, int]]:
    """Credits captured per day of generation creation and per group of ``dimension``."""
    queryset = captures.annotate(
        **dimension.helpers(RELATED_SOURCE),
        series=dimension.key(RELATED_SOURCE),
        day=DayOf("generation__created_at"),
    )
    restriction = dimension.restriction(RELATED_SOURCE)
    if restriction is not None:
        queryset = queryset.filter(restriction)
    rows = (
        queryset.order_by()
        .values("day", "series")
        .annotate(credits=Sum(-F("held_change")))
        .order_by("day")
    )
    return [(row["day"], row["series"], row["credits"] or 0) for row in rows if row["credits"]]


def report_group_labels(report: UsageReport) -> dict[Hashable, str]:
    """The names of the ``stacked_by`` groups, from the report's own rows (no query)."""
    if not report.stacked_by:
        return {}
    position = list(report.group_by).index(report.stacked_by)
    return {row.key[position]: row.labels[position] for row in report.rows}
