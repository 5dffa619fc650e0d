"""``GET /api/v1/generations/{id}/events``: a generation's progress as server-sent events.

Events: ``status`` (on the first read and on every change), ``output`` (each image as it is
stored, the same JSON as in a retrieve), then the stream ends after a terminal ``status``. A
stream that outlives ``EVENTS_MAX_S`` ends with ``timeout``; the client reconnects or polls.

The stream is an async iterator: between events it awaits the generation's next change
(``generations.messaging.notifications``: a Redis message, or the process's sweep of watched rows)
holding no thread and no database connection, and each event leaves when it happens. A client
that goes away cancels it, and nothing more is read for it.

Each event has an ``id:``, the stream's position after it: ``<status step>-<last output id>``
(the status step is 0 queued, 1 running, 2 ended; output ids grow in the order images are
stored). A client reconnecting with ``Last-Event-ID`` gets only what came after that position.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from django.core.handlers.wsgi import WSGIRequest
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer

from generations.api.async_views import WaitingApiView
from generations.api.errors import error_body
from generations.api.generations import generation_or_404
from generations.api.requests import AuthenticatedRequest
from generations.api.schema import error_responses
from generations.api.serializers import OutputImageSerializer
from generations.messaging.notifications import generation_watch
from generations.models import Generation
from generations.runtime.db import off_loop, served_on_request_thread
from generations.selectors.progress import ProgressMark, generation_progress

EVENTS_MAX_S = 600
# A comment line this often keeps proxies from closing a quiet stream.
KEEPALIVE_S = 15
KEEPALIVE = ": keep-alive\n\n"

STATUS_STEPS = {
    Generation.Status.QUEUED: 0,
    Generation.Status.RUNNING: 1,
    **dict.fromkeys(Generation.TERMINAL_STATUSES, 2),
}


def sse_event(name: str, data: Any, *, event_id: str = "") -> str:
    head = f"id: {event_id}\n" if event_id else ""
    body = json.dumps(data, separators=(",", ":"), default=str)
    return f"{head}event: {name}\ndata: {body}\n\n"


@dataclass(frozen=True)
class StreamPosition:
    """What a client has been sent: the status step (-1: no status yet) and the last output."""

    status_step: int = -1
    output_id: int = 0

    @property
    def event_id(self) -> str:
        return f"{self.status_step}-{self.output_id}"

    @classmethod
    def from_event_id(cls, event_id: str) -> "StreamPosition":
        """The position a ``Last-Event-ID`` names; the start for anything else (a client's
        garbled header costs it a repeat, never a lost event)."""
        step, _, output_id = event_id.strip().rpartition("-")
        try:
            position = cls(status_step=int(step), output_id=int(output_id))
        except ValueError:
            return cls()
        if not -1 <= position.status_step <= 2 or position.output_id < 0:
            return cls()
        return position


# One event of the stream as OpenAPI describes server-sent events: its fields, with `data` a
# JSON document.
EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "<status step>-<last output id>"},
        "event": {"type": "string", "enum": ["status", "output", "timeout", "error"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
    "required": ["event", "data"],
}
ERROR_EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["error"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/Error"},
        },
    },
    "required": ["event", "data"],
}


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


class GenerationEventsApi(WaitingApiView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    def perform_content_negotiation(self, request: Any, force: bool = False) -> Any:
        # DRF reads an empty ?format= as no format at all; the schema lists json and sse.
        if not force and request.query_params.get("format") == "":
            raise ValidationError({"format": ["Send format=json or format=sse, or leave it out."]})
        return super().perform_content_negotiation(request, force)

    @extend_schema(
        operation_id="generations_events",
        summary="Stream a generation's progress (server-sent events)",
        description="`event: status` with the state on connect and on every change; `event: "
        "output` with each image as it is stored (as in a retrieve); ends after a terminal "
        "status, or with `event: timeout` after 10 minutes. Each event has an `id`; "
        "reconnect with `Last-Event-ID` to get only the events after it.",
        parameters=[
            OpenApiParameter(
                "Last-Event-ID",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="The `id` of the last event received: resume after it.",
            )
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                EVENT_SCHEMA, description="A text/event-stream."
            ),
            **error_responses(400, 404),
            # With `Accept: text/event-stream` (or ?format=sse) the error is one `error` event.
            **{
                (status_code, "text/event-stream"): OpenApiResponse(ERROR_EVENT_SCHEMA)
                for status_code in (400, 401, 404)
            },
        },
    )
    async def get(
        self, request: AuthenticatedRequest, generation_id: UUID
    ) -> StreamingHttpResponse:
        generation = await off_loop(generation_or_404)(request=request, generation_id=generation_id)
        response = StreamingHttpResponse(
            generation_events(
                generation_id=str(generation.id),
                request=request,
                position=StreamPosition.from_event_id(request.headers.get("Last-Event-ID", "")),
                on_request_thread=isinstance(request._request, WSGIRequest),
            ),
            content_type="text/event-stream",
        )
        response["Cache-Control"] = "no-cache"
        # nginx would otherwise buffer the stream until it ends.
        response["X-Accel-Buffering"] = "no"
        return response


@dataclass(frozen=True)
class EventBatch:
    events: list[str]
    position: StreamPosition
    mark: ProgressMark | None
    ended: bool


async def generation_events(
    *,
    generation_id: str,
    request: AuthenticatedRequest,
    position: StreamPosition,
    on_request_thread: bool = False,
) -> AsyncIterator[str]:
    """The stream's text, event by event, from ``position`` on."""
    loop = asyncio.get_running_loop()
    read = off_loop(_events_after)
    with served_on_request_thread(on_request_thread):
        async with generation_watch(generation_id=generation_id, until_ended=False) as watch:
            started = last_sent = loop.time()
            changed = True
            while True:
                if changed:  # else a wait ran out: nothing to read, maybe a keep-alive to send
                    watch.woken.clear()  # before the read: a change after it wakes the wait
                    batch = await read(
                        generation_id=generation_id, position=position, request=request
                    )
                    for event in batch.events:
                        yield event
                        last_sent = loop.time()
                    position, watch.seen = batch.position, batch.mark
                    if batch.ended:
                        return
                now = loop.time()
                if now - started >= EVENTS_MAX_S:
                    yield sse_event(
                        "timeout",
                        {
                            "message": f"The stream ends after {EVENTS_MAX_S} seconds; reconnect "
                            f"or poll GET /api/v1/generations/{generation_id}?wait=60."
                        },
                    )
                    return
                if now - last_sent >= KEEPALIVE_S:
                    yield KEEPALIVE
                    last_sent = now
                changed = await watch.wait(
                    min(KEEPALIVE_S - (now - last_sent), EVENTS_MAX_S - (now - started))
                )


def _events_after(
    *, generation_id: str, position: StreamPosition, request: AuthenticatedRequest
) -> EventBatch:
    """The events after ``position``: new outputs first, then the status if it moved (read
    first, so once it reads ended every output is among those sent)."""
    progress = generation_progress(generation_id=generation_id, after_output_id=position.output_id)
    if progress is None:
        error = sse_event("error", error_body("not_found", "The generation was deleted."))
        return EventBatch(events=[error], position=position, mark=None, ended=True)
    events = []
    for output in progress.new_outputs:
        position = replace(position, output_id=output.pk)
        data = OutputImageSerializer(output, context={"request": request}).data
        events.append(sse_event("output", data, event_id=position.event_id))
    step = STATUS_STEPS[Generation.Status(progress.status)]
    if step > position.status_step:
        position = replace(position, status_step=step)
        status = {
            "id": generation_id,
            "status": progress.status,
            "error_code": progress.error_code,
            "error_message": progress.error_message,
            "credits_held": progress.credits_held,
            "credits_charged": progress.credits_charged,
            "updated_at": progress.updated_at.isoformat(),
        }
        events.append(sse_event("status", status, event_id=position.event_id))
    mark = ProgressMark(status=progress.status, last_output_id=position.output_id)
    return EventBatch(events=events, position=position, mark=mark, ended=progress.is_terminal)
