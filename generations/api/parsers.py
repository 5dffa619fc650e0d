"""Body parsers that refuse an oversized body before reading it.

DRF reads a JSON body whole into memory, and Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` does not
apply to it (only to ``request.body``); multipart files spool to disk without a cap. Each view
names its own ceiling (``max_body_bytes``), so one huge request cannot exhaust memory or disk.
"""

from typing import Any

from django.conf import settings
from rest_framework.parsers import JSONParser, MultiPartParser

from generations.api.errors import RequestTooLarge
from studio_core.parsing import int_from_text

# Views without file content (keys, filters) need far less than this.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def max_body_bytes(view: Any) -> int:
    limit = getattr(view, "max_body_bytes", None)
    return limit() if callable(limit) else DEFAULT_MAX_BODY_BYTES


def _refuse_oversized(parser_context: dict[str, Any] | None) -> None:
    context = parser_context or {}
    request = context.get("request")
    if request is None:
        return
    declared = int_from_text(request.META.get("CONTENT_LENGTH"))
    limit = max_body_bytes(context.get("view"))
    if declared is not None and declared > limit:
        raise RequestTooLarge(
            f"The request body is {declared:,} bytes; this endpoint accepts at most "
            f"{limit:,}. Reference images may be at most "
            f"{settings.REFERENCE_MAX_BYTES // (1024 * 1024)} MB each."
        )


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        _refuse_oversized(parser_context)
        return super().parse(stream, media_type, parser_context)


class BoundedMultiPartParser(MultiPartParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        _refuse_oversized(parser_context)
        return super().parse(stream, media_type, parser_context)
