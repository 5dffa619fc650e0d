"""Geometry of the spend-over-time chart, drawn by the template as inline SVG.

No script and no CDN: the numbers are laid out here and the page only draws rectangles.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

WIDTH, HEIGHT = 900, 240
LEFT, RIGHT, TOP, BOTTOM = 70, 10, 10, 40
MAX_X_LABELS = 9


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    credits: int


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


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

    @property
    def empty(self) -> bool:
        return self.total == 0


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
    by_day = dict(daily)
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    top_value = _nice_ceiling(max(by_day.values(), default=0))
    slot = plot_width / max(len(days), 1)
    bar_width = max(slot * 0.8, 1.0)
    bars = []
    for index, day in enumerate(days):
        credits = by_day.get(day, 0)
        if not credits:
            continue
        height = plot_height * credits / top_value
        bars.append(
            Bar(
                x=round(LEFT + index * slot + (slot - bar_width) / 2, 2),
                y=round(TOP + plot_height - height, 2),
                width=round(bar_width, 2),
                height=round(height, 2),
                day=day,
                credits=credits,
            )
        )
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
        total=sum(by_day.get(day, 0) for day in days),
    )
