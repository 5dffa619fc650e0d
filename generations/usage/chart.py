"""Geometry of the spend-over-time chart, drawn by the template as inline SVG.

No script and no CDN: the numbers are laid out here and the page only draws rectangles. With
a grouping, each day's bar is stacked by the report's first grouping column (its biggest
spenders, the rest as "Other"); colours come from the stylesheet by series number, since the
Content-Security-Policy forbids inline styles.
"""

import math
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

WIDTH, HEIGHT = 900, 240
LEFT, RIGHT, TOP, BOTTOM = 70, 10, 10, 40
MAX_X_LABELS = 9
# Distinct colours a reader can tell apart; more groups than this share "Other".
MAX_SERIES = 6
OTHER = "Other"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    credits: int
    series: int = 0  # the legend entry (and colour) of this segment
    label: str = ""


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class LegendEntry:
    series: int
    label: str
    credits: int


@dataclass(frozen=True)
class SpendChart:
    width: int
    height: int
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    plot_left: int
    plot_bottom: int
    plot_right: int
    total: int
    legend: list[LegendEntry]

    @property
    def empty(self) -> bool:
        return self.total == 0

    @property
    def stacked(self) -> bool:
        return len(self.legend) > 1


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times 10^k at or above ``value``, so axis labels are round numbers."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def spend_chart(*, daily: Sequence[tuple[date, int]], first: date, last: date) -> SpendChart:
    """One bar per day from ``first`` to ``last`` inclusive; days without spend get no bar."""
    return stacked_spend_chart(
        daily=[(day, None, credits) for day, credits in daily],
        labels={None: "Credits captured"},
        first=first,
        last=last,
    )


def _series_of(
    daily: Sequence[tuple[date, Hashable, int]], labels: Mapping[Hashable, str]
) -> tuple[dict[Hashable, int], list[LegendEntry]]:
    """Each group's series number, biggest spender first, and the legend; past
    ``MAX_SERIES`` the smallest groups share one "Other" series."""
    totals: dict[Hashable, int] = defaultdict(int)
    for _day, key, credits in daily:
        totals[key] += credits
    ranked = sorted(totals, key=lambda key: (-totals[key], str(labels.get(key, key))))
    kept = ranked if len(ranked) <= MAX_SERIES else ranked[: MAX_SERIES - 1]
    number = {key: index for index, key in enumerate(kept)}
    legend = [
        LegendEntry(series=index, label=labels.get(key, f"#{key}"), credits=totals[key])
        for index, key in enumerate(kept)
    ]
    rest = [key for key in ranked if key not in number]
    if rest:
        for key in rest:
            number[key] = len(kept)
        legend.append(
            LegendEntry(series=len(kept), label=OTHER, credits=sum(totals[key] for key in rest))
        )
    return number, legend


def stacked_spend_chart(
    *,
    daily: Sequence[tuple[date, Hashable, int]],
    labels: Mapping[Hashable, str],
    first: date,
    last: date,
) -> SpendChart:
    """One bar per day from ``first`` to ``last`` inclusive, split into one segment per group
    (``daily``: day, group key, credits; ``labels``: each key's name)."""
    series, legend = _series_of(daily, labels)
    by_day: dict[date, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for day, key, credits in daily:
        if first <= day <= last and credits:
            by_day[day][series[key]] += credits
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    top_value = _nice_ceiling(max((sum(parts.values()) for parts in by_day.values()), default=0))
    slot = plot_width / max(len(days), 1)
    bar_width = max(slot * 0.8, 1.0)
    names = {entry.series: entry.label for entry in legend}
    bars = []
    for index, day in enumerate(days):
        base = 0
        for number, credits in sorted(by_day.get(day, {}).items()):
            height = plot_height * credits / top_value
            bottom = TOP + plot_height - plot_height * base / top_value
            bars.append(
                Bar(
                    x=round(LEFT + index * slot + (slot - bar_width) / 2, 2),
                    y=round(bottom - height, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    day=day,
                    credits=credits,
                    series=number,
                    label=names[number],
                )
            )
            base += credits
    y_ticks = [
        Tick(
            position=round(TOP + plot_height * (1 - part / 4), 2),
            label=f"{top_value * part // 4:,}",
        )
        for part in range(5)
    ]
    every = max(1, math.ceil(len(days) / MAX_X_LABELS))
    x_ticks = [
        Tick(position=round(LEFT + index * slot + slot / 2, 2), label=day.strftime("%b %d"))
        for index, day in enumerate(days)
        if index % every == 0
    ]
    return SpendChart(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        plot_left=LEFT,
        plot_bottom=TOP + plot_height,
        plot_right=WIDTH - RIGHT,
        total=sum(sum(parts.values()) for parts in by_day.values()),
        legend=legend,
    )
