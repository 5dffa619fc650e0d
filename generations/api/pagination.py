"""Cursor pagination for lists that grow while a client pages through them."""

from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from studio_core.parsing import int_from_text

INVALID_CURSOR = "The cursor is not valid; follow the `next` or `previous` link of a page."
INVALID_LIMIT = "limit is a page size: a whole number from 1 to {maximum}."


class NewestFirstCursorPagination(CursorPagination):
    """Newest first; the cursor is opaque, so a page never repeats or skips a row when new
    generations arrive meanwhile (offsets would shift)."""

    ordering = ("-created_at", "-pk")
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        """DRF falls back to the default page size for a limit it cannot read; a client that
        asked for 500 rows (or "ten") is told instead of silently getting 20."""
        if self.page_size_query_param not in request.query_params:
            return self.page_size
        limit = int_from_text(
            request.query_params[self.page_size_query_param],
            minimum=1,
            maximum=self.max_page_size,
        )
        if limit is None:
            raise ValidationError({"limit": [INVALID_LIMIT.format(maximum=self.max_page_size)]})
        return limit

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF answers a bad cursor with 404 and passes a forged position to the database
        unchecked (a 500 there); both become a 400 naming the parameter."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": [INVALID_CURSOR]}) from None
        if cursor is not None and cursor.position is not None:
            try:
                valid = parse_datetime(str(cursor.position)) is not None
            except ValueError:
                valid = False
            if not valid:
                raise ValidationError({"cursor": [INVALID_CURSOR]})
        return cursor


# The query parameters of every cursor-paginated list, for ``extend_schema(parameters=...)``.
PAGE_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="From `next`/`previous`."),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": NewestFirstCursorPagination.max_page_size},
        description="Page size (default 20).",
    ),
]


def page_serializer(name: str, item: serializers.BaseSerializer) -> Any:
    """The schema of one page of ``item`` rows, as ``get_paginated_response`` answers it."""
    return inline_serializer(
        name=name,
        fields={
            "next": serializers.URLField(allow_null=True, help_text="The next page, if any."),
            "previous": serializers.URLField(allow_null=True),
            "results": item,
        },
    )
