"""``GET /api/v1/generations/{id}/events``: a generation's progress as server-sent events.

Events: ``status`` (on the first read and on every change), ``output`` (each image as it is
stored, the same JSON as in a retrieve), then the stream ends after a terminal ``status``. A
stream that outlives ``EVENTS_MAX_S`` ends with ``timeout``; the client reconnects or polls.

The stream polls the database (two small queries per ``EVENTS_POLL_INTERVAL_S``) and holds a
worker thread while it runs; a push-based, non-blocking version under ASGI is a later issue.
"""

import json
import time
from collections.abc import Iterator, Mapping
from typing import Any
from uuid import UUID

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from seedream_site.api_errors import error_body

from ..api_selectors import generation_progress
from ..models import Generation
from .generations import generation_or_404
from .requests import AuthenticatedRequest
from .schema import error_responses
from .serializers import OutputImageSerializer

EVENTS_POLL_INTERVAL_S = 0.5
EVENTS_MAX_S = 600
# A comment line this often keeps proxies from closing a quiet stream.
KEEPALIVE_S = 15


def sse_event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


class EventStreamRenderer(BaseRenderer):
    """Lets clients send ``Accept: text/event-stream``; an error before the stream starts
    (401, 404) is then sent as one ``error`` event carrying the usual error body."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> str:
        return sse_event("error", data)


class GenerationEventsApi(APIView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        operation_id="generations_events",
        summary="Stream a generation's progress (server-sent events)",
        description="`event: status` with the state on connect and on every change; `event: "
        "output` with each image as it is stored (as in a retrieve); ends after a terminal "
        "status, or with `event: timeout` after 10 minutes.",
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR, description="A text/event-stream."
            ),
            **error_responses(404),
        },
    )
    def get(self, request: AuthenticatedRequest, generation_id: UUID) -> StreamingHttpResponse:
        generation = generation_or_404(request=request, generation_id=generation_id)
        response = StreamingHttpResponse(
            _events(generation=generation, request=request), content_type="text/event-stream"
        )
        response["Cache-Control"] = "no-cache"
        # nginx would otherwise buffer the stream until it ends.
        response["X-Accel-Buffering"] = "no"
        return response


def _events(*, generation: Generation, request: AuthenticatedRequest) -> Iterator[str]:
    serializer_context = {"request": request}
    started = last_sent = time.monotonic()
    last_status = ""
    last_output_id = 0
    while True:
        progress = generation_progress(
            generation_id=str(generation.id), after_output_id=last_output_id
        )
        if progress is None:
            yield sse_event("error", error_body("not_found", "The generation was deleted."))
            return
        for output in progress.new_outputs:
            yield sse_event(
                "output", OutputImageSerializer(output, context=serializer_context).data
            )
            last_output_id = output.pk
            last_sent = time.monotonic()
        if progress.status != last_status:
            last_status = progress.status
            yield sse_event(
                "status",
                {
                    "id": str(generation.id),
                    "status": progress.status,
                    "error_code": progress.error_code,
                    "error_message": progress.error_message,
                    "credits_held": progress.credits_held,
                    "credits_charged": progress.credits_charged,
                    "updated_at": progress.updated_at.isoformat(),
                },
            )
            last_sent = time.monotonic()
        if progress.is_terminal:
            return
        now = time.monotonic()
        if now - started >= EVENTS_MAX_S:
            yield sse_event(
                "timeout",
                {
                    "message": f"The stream ends after {EVENTS_MAX_S} seconds; reconnect or "
                    f"poll GET /api/v1/generations/{generation.id}?wait=60."
                },
            )
            return
        if now - last_sent >= KEEPALIVE_S:
            yield ": keep-alive\n\n"
            last_sent = now
        time.sleep(EVENTS_POLL_INTERVAL_S)
