"""URL converters, registered on import (each ``urls.py`` that uses one imports this module).

``<row_id:…>`` is Django's ``<int:…>`` held to the range of a 64-bit id column, with the rule
``studio_core.parsing.int_from_text`` applies to numbers in queries and forms. ``<int:…>``
hands any digit string to the view, and a lookup with a number past that range is refused by
the database (SQLite's driver raises OverflowError, PostgreSQL "out of range"): a 500 where
"no such row" was meant. A number that cannot be an id is no route, so a 404.
"""

from django.urls import register_converter

from .parsing import int_from_text

ROW_ID = "row_id"


class RowIdConverter:
    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = int_from_text(value)
        if number is None:
            # Django reads a ValueError here as "this route does not match".
            raise ValueError(f"{value[:30]!r} is not a row id")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(RowIdConverter, ROW_ID)
