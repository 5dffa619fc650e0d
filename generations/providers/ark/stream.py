"""Reading Ark's replies: the SSE stream (providers.md §1.6), usage and error objects (§1.7).

`iter_sse_events` is the framing: bytes in, `(event, data)` pairs out. `stream_outcomes` gives the
events their meaning: each image (or per-image failure) as it arrives, then the usage. Turning an
image entry into bytes needs the adapter's HTTP client, so the adapter passes that in; usage,
`ark_error` and `image_failure` serve the adapter's JSON path as well.

Two deliberate departures from a textbook SSE parser:
- Every `data:` line is its own event (carrying the last `event:` name seen), instead of joining
  consecutive data lines until a blank line. Ark sends one-line JSON per `data:` line, so this
  yields each image as soon as its line arrives, and it still works if a proxy drops the blank
  separator lines.
- Lines end only at LF (with an optional CR before it). `str.splitlines`, which httpx's
  `iter_lines` uses, also splits on U+0085 and U+2028, which may sit unescaped inside JSON
  strings and would cut a payload in two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from generations.providers.contract import ProviderImageFailure, ProviderUsage
from generations.providers.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    ContentRefused,
    ProviderError,
    ProviderTimeout,
    QuotaError,
    RateLimited,
    Unavailable,
)
from generations.providers.http import redact
from generations.providers.replies import describe, error_fields, json_or_none

__all__ = [
    "DONE",
    "ServerSentEvent",
    "SseDecoder",
    "StreamReader",
    "ark_error",
    "image_failure",
    "is_count",
    "iter_sse_events",
    "stream_outcomes",
    "usage_from",
]

# The data line that ends an Ark stream (after `image_generation.completed`).
DONE = "[DONE]"
PARTIAL_SUCCEEDED = "image_generation.partial_succeeded"
PARTIAL_FAILED = "image_generation.partial_failed"
COMPLETED = "image_generation.completed"
# A line longer than this is not an event we can use: a 4K PNG as b64_json is ~30 MB of text.
MAX_LINE_BYTES = 128 * 1024 * 1024

# An entry's outcome: an image, its failure, or (for the call executor) a link to download.
EntryReader = Callable[[Mapping[str, Any], int], Any]
ErrorReader = Callable[[object], ProviderError]


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str  # "" when the server sent no `event:` line for this data
    data: str


class StreamReader:
    """Ark's event stream read as it arrives (`feed`), then its end (`close`): each image event's
    outcome, then one `ProviderUsage`.

    An error event raises `read_error(error)`, unless images came before it (then they stand
    and the usage decides the bill). A stream that stops before `completed` or `[DONE]` raises
    `Unavailable` that is not failover-safe: the provider was already generating.
    """

    def __init__(
        self, *, read_entry: EntryReader, read_error: ErrorReader, request_id: str | None
    ) -> None:
        self.read_entry, self.read_error, self.request_id = read_entry, read_error, request_id
        self.events = SseDecoder()
        self.delivered = self.yielded = 0
        self.usage: object = None
        self.finished = False

    def feed(self, chunk: bytes) -> list[Any]:
        return [item for event in self.events.feed(chunk) for item in self._event(event)]

    def close(self) -> list[Any]:
        items = [item for event in self.events.close() for item in self._event(event)]
        if not self.finished:
            raise Unavailable(
                message="the provider's event stream ended before the generation completed",
                request_id=self.request_id,
                before_accepted=False,
            )
        return [*items, usage_from(self.usage, delivered=self.delivered)]

    def _event(self, event: ServerSentEvent) -> list[Any]:
        if self.finished:
            return []  # after [DONE] nothing counts
        if event.data == DONE:
            self.finished = True
            return []
        payload = json_or_none(event.data.encode())
        if not isinstance(payload, Mapping):
            raise BadResponse(
                message=f"the provider sent an unreadable event: {event.data[:120]!r}",
                request_id=self.request_id,
            )
        kind = payload.get("type") or event.event
        if kind in (PARTIAL_SUCCEEDED, PARTIAL_FAILED):
            index = payload.get("image_index")
            if not is_count(index):
                raise BadResponse(
                    message="an image event has no image_index", request_id=self.request_id
                )
            outcome = self.read_entry(payload, index)
            # An image named by link is counted as delivered; its download may yet fail.
            self.delivered += not isinstance(outcome, ProviderImageFailure)
            self.yielded += 1
            return [outcome]
        if kind == COMPLETED:
            self.finished, self.usage = True, payload.get("usage")
            if payload.get("error") and not self.yielded:
                raise self.read_error(payload["error"])
        elif payload.get("error") and not self.yielded:
            raise self.read_error(payload["error"])
        # Any other event type is a feature we do not use; skipping it keeps us working.
        return []


def stream_outcomes(
    chunks: Iterable[bytes],
    *,
    read_entry: EntryReader,
    read_error: ErrorReader,
    request_id: str | None,
) -> Iterator[Any]:
    """`StreamReader` over a whole stream: each outcome as its event arrives, then the usage."""
    reader = StreamReader(read_entry=read_entry, read_error=read_error, request_id=request_id)
    for chunk in chunks:
        yield from reader.feed(chunk)
    yield from reader.close()


def usage_from(raw: object, *, delivered: int) -> ProviderUsage:
    """The provider's usage; where it is missing, the images we received stand in."""
    if not isinstance(raw, Mapping):
        return ProviderUsage(generated_images=delivered)
    generated = raw.get("generated_images")
    tokens = raw.get("output_tokens")
    return ProviderUsage(
        generated_images=generated if is_count(generated) else delivered,
        output_tokens=tokens if is_count(tokens) else None,
        raw=dict(raw),
    )


def is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# --- error objects --------------------------------------------------------------------------

# The status an error code implies, for errors that come without a telling one (a top-level
# `error` in a 200, an SSE error event). Codes carry sub-codes, so prefixes; the first match
# wins, which is why the 400 `InvalidEndpoint.ClosedEndpoint` precedes the 404 family.
_STATUS_BY_CODE_PREFIX: tuple[tuple[str, int], ...] = (
    ("MissingParameter", 400),
    ("InvalidParameter", 400),
    ("InvalidEndpoint.ClosedEndpoint", 400),
    ("AuthenticationError", 401),
    ("AccessDenied", 403),
    ("AccountOverdueError", 403),
    ("InvalidEndpoint", 404),  # also InvalidEndpointOrModel.*
    ("UnsupportedModel", 404),
    ("RateLimitExceeded", 429),
    ("InternalServiceError", 500),
)
# Out of balance, or the model not activated on the account: another account may serve.
_QUOTA_CODES = ("AccountOverdueError", "ModelNotOpen")
# SensitiveContentDetected[.*], InputTextSensitiveContentDetected, InputImage..., OutputImage...
_REFUSAL_MARK = "SensitiveContentDetected"


def ark_error(
    error: object,
    *,
    http_status: int | None,
    request_id: str | None = None,
    retry_after: float | None = None,
    secrets: tuple[str, ...] = (),
) -> ProviderError:
    """The `ProviderError` for an Ark error object (`{"code", "message", "param"}`)."""
    code, message = error_fields(error)
    param = str(error.get("param") or "") if isinstance(error, Mapping) else ""
    text = redact(describe(code, message), secrets)
    if param:
        text = f"{text} (param: {param})"
    status = http_status if http_status and http_status >= 400 else _status_for_code(code)
    fields: dict[str, Any] = {
        "message": text,
        "http_status": http_status,
        "provider_code": code or None,
        "request_id": request_id,
    }
    if _REFUSAL_MARK in code:
        return ContentRefused(**fields)
    if code.startswith(_QUOTA_CODES) or status == 402:
        return QuotaError(**fields)
    if status in (401, 403):
        return AuthError(**fields)
    if status == 429:
        return RateLimited(**fields, retry_after=retry_after)
    if status in (408, 504):
        return ProviderTimeout(**fields)
    if status == 404:
        fields["message"] = f"the model or endpoint is not available to this account: {text}"
        return BadRequest(**fields)
    if status is not None and 400 <= status < 500:
        return BadRequest(**fields)
    if http_status is not None and http_status >= 500:
        # The provider answered that the call failed. Ark bills only the images it generated
        # (usage.generated_images) and an error reply carries none, so another account may try.
        return Unavailable(**fields, before_accepted=True)
    # A failure report inside a 200 that we cannot place: the group may be partly billed.
    return Unavailable(**fields, before_accepted=False)


def _status_for_code(code: str) -> int | None:
    return next(
        (status for prefix, status in _STATUS_BY_CODE_PREFIX if code.startswith(prefix)), None
    )


def image_failure(
    error: object, index: int, *, secrets: tuple[str, ...] = ()
) -> ProviderImageFailure:
    """One failed image of a group (`data[].error`, `partial_failed`), in our vocabulary."""
    code, message = error_fields(error)
    if _REFUSAL_MARK in code:
        our_code = ContentRefused.code
    elif code.startswith("InternalServiceError"):
        our_code = Unavailable.code  # Ark stops the group after one of these
    else:
        our_code = ProviderError.code
    text = redact(describe(code, message), secrets)
    return ProviderImageFailure(index=index, code=our_code, message=text)


# --- SSE framing ---------------------------------------------------------------------------


class SseDecoder:
    """SSE framing as bytes arrive: one `ServerSentEvent` per `data:` line.

    A blank line forgets the current event name; comments (`:`), `id:` and `retry:` are
    ignored because Ark sends none and we never reconnect a paid generation.
    Raises `BadResponse` for text that is not UTF-8 or a line beyond `MAX_LINE_BYTES`.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.event = ""

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        self.buffer.extend(chunk)
        events: list[ServerSentEvent] = []
        start = 0
        while (end := self.buffer.find(b"\n", start)) != -1:
            self._line(bytes(self.buffer[start:end]).removesuffix(b"\r"), events)
            start = end + 1
        del self.buffer[:start]
        if len(self.buffer) > MAX_LINE_BYTES:
            raise BadResponse(message="the provider's event stream has an overlong line")
        return events

    def close(self) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        if self.buffer:
            self._line(bytes(self.buffer).removesuffix(b"\r"), events)
            self.buffer.clear()
        return events

    def _line(self, raw_line: bytes, events: list[ServerSentEvent]) -> None:
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadResponse(message="the provider's event stream is not UTF-8 text") from exc
        if not line:
            self.event = ""
            return
        if line.startswith(":"):
            return
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self.event = value
        elif field == "data":
            events.append(ServerSentEvent(event=self.event, data=value))


def iter_sse_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """`SseDecoder` over a whole byte stream."""
    decoder = SseDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()
