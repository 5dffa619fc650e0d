"""CSV downloads of staff reports (the usage report, the audit trail), streamed row by row."""

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from studio_core.streaming import ThreadedStreamingHttpResponse

# A spreadsheet runs a cell that starts with one of these as a formula; user-chosen text (key
# names, memos, usernames) must never do that on a staff member's machine.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(
    *, filename: str, headings: Sequence[str], rows: Iterable[Sequence[Any]]
) -> ThreadedStreamingHttpResponse:
    """Streamed, so a long export never sits whole in memory, under ASGI too; ``rows`` is
    read as the response is sent (a queryset's ``.iterator()`` keeps memory flat)."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(headings)
        for row in rows:
            yield writer.writerow([csv_cell(value) for value in row])

    response = ThreadedStreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
