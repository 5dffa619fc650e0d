"""SQL pieces the usage selectors share, for the two databases the platform runs on.

Percentiles are computed by PostgreSQL itself (``percentile_cont``); SQLite has no such
aggregate, so there the values are read (one narrow column) and interpolated the same way in
Python. Both give identical numbers, which the tests rely on.
"""

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from django.conf import settings
from django.db import NotSupportedError, connection
from django.db.models import Aggregate, BigIntegerField, FloatField, Func, QuerySet
from django.db.models.expressions import Combinable
from django.db.models.functions import TruncDate
from django.db.models.sql.compiler import SQLCompiler

SqlParams = tuple[Any, ...]


class DurationMs(Func):
    """Milliseconds from ``start`` to ``end`` as a float; NULL when either is NULL."""

    output_field = FloatField()
    arity = 2

    def as_sql(  # type: ignore[override]  # no other database: no template arguments
        self, compiler: SQLCompiler, connection: Any, **extra: Any
    ) -> tuple[str, SqlParams]:
        raise NotSupportedError("DurationMs supports PostgreSQL and SQLite only.")

    def _parts(self, compiler: SQLCompiler) -> tuple[str, str, SqlParams]:
        start, end = self.get_source_expressions()
        start_sql, start_params = compiler.compile(start)
        end_sql, end_params = compiler.compile(end)
        return start_sql, end_sql, (*end_params, *start_params)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: Any, **extra: Any
    ) -> tuple[str, SqlParams]:
        # Whole seconds from strftime plus the stored fraction (".ffffff", the text from the
        # 20th character): exact to the microsecond, where julianday() doubles are off by ~50 µs.
        start_sql, end_sql, params = self._parts(compiler)
        sql = (
            f"((CAST(strftime('%%s', {end_sql}) AS INTEGER)"
            f" - CAST(strftime('%%s', {start_sql}) AS INTEGER)) * 1000.0"
            f" + (CAST(substr({end_sql}, 20) AS REAL)"
            f" - CAST(substr({start_sql}, 20) AS REAL)) * 1000.0)"
        )
        return sql, (*params, *params)

    def as_postgresql(
        self, compiler: SQLCompiler, connection: Any, **extra: Any
    ) -> tuple[str, SqlParams]:
        start_sql, end_sql, params = self._parts(compiler)
        # double precision, not numeric: percentile_cont orders by double or interval only.
        return f"(EXTRACT(EPOCH FROM ({end_sql} - {start_sql}))::double precision * 1000.0)", params


class DayOf(TruncDate):
    """``TruncDate`` (the date in the current time zone), cheap on SQLite when that zone is UTC.

    On SQLite Django computes TruncDate with a Python function called per row, a third of a
    second per 100,000 rows. Datetimes are stored there as UTC text "YYYY-MM-DD HH:MM:SS…", so
    in UTC the date is the first ten characters; other zones keep Django's exact conversion.
    """

    def as_sqlite(
        self, compiler: SQLCompiler, connection: Any, **extra: Any
    ) -> tuple[str, SqlParams]:
        if settings.USE_TZ and self.get_tzname() not in ("UTC", "Etc/UTC"):
            return super().as_sql(compiler, connection, **extra)
        sql, params = compiler.compile(self.lhs)
        return f"substr({sql}, 1, 10)", tuple(params)


class JsonCount(Func):
    """An integer a provider reported under ``key`` of a JSON column; else NULL.

    Providers' usage objects are stored as received, so a malformed value must read as "not
    reported" rather than make a cast fail and take the whole report down.
    """

    output_field = BigIntegerField()
    arity = 1

    def __init__(self, expression: Any, *, key: str, **extra: Any) -> None:
        if not key.isidentifier():
            raise ValueError(f"not a plain JSON key: {key!r}")
        self.key = key
        super().__init__(expression, **extra)

    def as_sql(  # type: ignore[override]  # no other database: no template arguments
        self, compiler: SQLCompiler, connection: Any, **extra: Any
    ) -> tuple[str, SqlParams]:
        raise NotSupportedError("JsonCount supports PostgreSQL and SQLite only.")

    def as_sqlite(
        self, compiler: SQLCompiler, connection: Any, **extra: Any
    ) -> tuple[str, SqlParams]:
        column, params = compiler.compile(self.get_source_expressions()[0])
        path = f"$.{self.key}"
        sql = f"(CASE WHEN json_type({column}, %s) = 'integer' THEN json_extract({column}, %s) END)"
        return sql, (*params, path, *params, path)

    def as_postgresql(
        self, compiler: SQLCompiler, connection: Any, **extra: Any
    ) -> tuple[str, SqlParams]:
        column, params = compiler.compile(self.get_source_expressions()[0])
        sql = (
            f"(CASE WHEN jsonb_typeof({column} -> %s) = 'number' "
            f"THEN ({column} ->> %s)::numeric::bigint END)"
        )
        return sql, (*params, self.key, *params, self.key)


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile (linear interpolation between neighbours)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, *, fraction: float, **extra: Any) -> None:
        # A float we produce, never user input, so it may sit in the SQL text.
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentile_cont(ordered: Sequence[float], fraction: float) -> float | None:
    """``percentile_cont`` over already sorted values, as PostgreSQL computes it."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def database_has_percentiles() -> bool:
    return connection.vendor == "postgresql"


def sqlite_read_hint() -> None:
    """Give this SQLite connection a page cache that holds a report's working set.

    SQLite's default cache is 2 MB; the usage report reads tens of MB of pages, several times
    over. 64 MB (allocated only as used, per connection) halves its time on 100,000
    generations. A no-op on other databases.
    """
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -65536")


Percentiles = tuple[float | None, ...]


def grouped_percentiles(
    queryset: QuerySet[Any],
    *,
    keys: Sequence[str],
    value: Combinable,
    fractions: Sequence[float],
    overall: bool = False,
    parse_key: Callable[[tuple[Any, ...]], tuple[Hashable, ...]] = tuple,
) -> tuple[dict[tuple[Hashable, ...], Percentiles], Percentiles]:
    """Percentiles of ``value`` per group of ``keys`` (annotations or fields of ``queryset``).

    Returns ``({group key tuple: (p for each fraction)}, overall percentiles)``; the overall
    figures are only computed when ``overall`` is set. Rows where ``value`` is NULL are ignored.
    One query per call on PostgreSQL (two with ``overall``), one on SQLite.

    On SQLite the rows are read with a plain cursor: Django's per-row conversions cost three
    times the query on 100,000 rows. Keys then arrive as the database stores them, and
    ``parse_key`` turns each distinct raw key into the value Django would have returned.
    """
    queryset = queryset.annotate(_percentile_value=value).filter(_percentile_value__isnull=False)
    queryset = queryset.order_by()
    empty: Percentiles = tuple(None for _ in fractions)
    if database_has_percentiles():
        aggregates = {
            f"_p{index}": PercentileCont("_percentile_value", fraction=fraction)
            for index, fraction in enumerate(fractions)
        }
        total = empty
        if overall or not keys:
            result = queryset.aggregate(**aggregates)
            total = tuple(result[name] for name in aggregates)
        if not keys:  # one group: everything (values() without keys would mean every column)
            return ({(): total} if total[0] is not None else {}), total
        groups = {
            tuple(row[key] for key in keys): tuple(row[name] for name in aggregates)
            for row in queryset.values(*keys).annotate(**aggregates)
        }
        return groups, total
    values: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    sql, params = queryset.values_list(*keys, "_percentile_value").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(10_000):
            for *key, measured in rows:
                values[tuple(key)].append(measured)
    groups = {}
    everything: list[float] = []
    for raw_key, measured_values in values.items():
        measured_values.sort()
        groups[parse_key(raw_key)] = tuple(
            percentile_cont(measured_values, fraction) for fraction in fractions
        )
        if overall:
            everything.extend(measured_values)
    everything.sort()
    total = tuple(percentile_cont(everything, f) for f in fractions) if overall else empty
    return groups, total
