"""The report as a table: the same cells feed the page and the CSV, so the two never differ.

Every figure cell links to the Generation changelist filtered to the generations behind it: the
group's own filters (``dimensions``), the report's date range, and the figure's status.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from generations.models import Generation
from generations.usage.dimensions import PARAM_CREATED_BEFORE, PARAM_CREATED_FROM, PARAM_TEAM
from generations.usage.report import UsageFigures, UsageReport, UsageRow

SUCCEEDED = {"status__exact": Generation.Status.SUCCEEDED.value}
DELIVERED = {"status__in": ",".join(Generation.DELIVERED_STATUSES)}
FAILED = {"status__exact": Generation.Status.FAILED.value}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class FigureColumn:
    name: str  # a UsageFigures field
    heading: str
    help: str
    drilldown: dict[str, str]  # extra changelist filters for the generations behind the figure
    seconds: bool = False  # stored in ms, shown in seconds
    money: bool = False  # credits, shown in US dollars (settings.CREDIT_VALUE_USD each)


FIGURE_COLUMNS = (
    FigureColumn("generations", "Generations", "Requests created in the range.", {}),
    FigureColumn("images_delivered", "Images delivered", "Images stored for the users.", {}),
    FigureColumn("failures", "Failures", "Generations that ended failed.", FAILED),
    FigureColumn(
        "credits_captured", "Credits captured", "Ledger captures: what users paid.", DELIVERED
    ),
    FigureColumn(
        "credits_captured",
        "Cost (US$)",
        "Credits captured at the configured value of a credit (CREDIT_VALUE_USD).",
        DELIVERED,
        money=True,
    ),
    FigureColumn("credits_released", "Credits released", "Ledger releases: holds given back.", {}),
    FigureColumn(
        "provider_images",
        "Provider images",
        "Images the providers say they generated (their usage reports).",
        {},
    ),
    FigureColumn(
        "provider_output_tokens",
        "Provider output tokens",
        "Output tokens the providers reported, where they report them.",
        {},
    ),
    FigureColumn(
        "median_ms", "Median time (s)", "Start to finish, succeeded only.", SUCCEEDED, True
    ),
    FigureColumn("p95_ms", "p95 time (s)", "Start to finish, succeeded only.", SUCCEEDED, True),
)


@dataclass(frozen=True)
class Cell:
    value: int | float | Decimal | None
    url: str

    @property
    def display(self) -> str:
        # Formatted here, not with a template filter per cell: 1,600 cells rendered in a
        # fifth of a second through ``intcomma``.
        if self.value is None:
            return "—"
        if isinstance(self.value, Decimal):
            return f"${self.value:,.2f}"
        return f"{self.value:,.1f}" if isinstance(self.value, float) else f"{self.value:,}"


@dataclass(frozen=True)
class TableRow:
    labels: tuple[str, ...]
    cells: list[Cell]
    is_total: bool = False


def figure_value(figures: UsageFigures, column: FigureColumn) -> int | float | Decimal | None:
    value = getattr(figures, column.name)
    if value is not None and column.seconds:
        return round(value / 1000, 1)
    if value is not None and column.money:
        return credits_in_usd(value)
    return value


def credits_in_usd(credits: int) -> Decimal:
    """``credits`` in US dollars, to the cent."""
    return (credits * settings.CREDIT_VALUE_USD).quantize(CENT, rounding=ROUND_HALF_UP)


def report_headings(report: UsageReport) -> list[str]:
    groups = [dim.label for dim in report.dimensions] or ["Range"]
    return groups + [column.heading for column in FIGURE_COLUMNS]


def report_table(report: UsageReport) -> Iterator[TableRow]:
    """The shown rows, then the total over every group (shown or not)."""
    in_range = {
        PARAM_CREATED_FROM: report.start.isoformat(),
        PARAM_CREATED_BEFORE: report.end.isoformat(),
    }
    if report.team_id is not None:
        in_range[PARAM_TEAM] = str(report.team_id)
    dimensions = report.dimensions
    changelist = reverse("admin:generations_generation_changelist")  # once, not per cell

    def row(source: UsageRow | None) -> TableRow:
        group = dict(in_range)
        if source is not None:
            for dimension, key in zip(dimensions, source.key, strict=True):
                group.update(dimension.drilldown(key))
        figures = source.figures if source is not None else report.total
        cells = [
            Cell(
                value=figure_value(figures, column),
                url=f"{changelist}?{urlencode(sorted((group | column.drilldown).items()))}",
            )
            for column in FIGURE_COLUMNS
        ]
        if source is None:
            labels = ("Total",) + ("",) * (len(dimensions) - 1)
            return TableRow(labels=labels or ("Total",), cells=cells, is_total=True)
        return TableRow(labels=source.labels, cells=cells)

    if dimensions:  # without grouping the only group is the total itself
        for source in report.rows:
            yield row(source)
    yield row(None)
