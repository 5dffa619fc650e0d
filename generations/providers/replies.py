"""Reading what providers answer: JSON bodies, error envelopes and the marks that classify them.

Every provider wraps its errors in one of a few envelopes; `error_fields` reads them all, so an
adapter names only its classification marks (the words of a content refusal, of an empty
account) and `reply_error` turns a refusing reply into the `ProviderError` they and its status
say. One place for each, so adapters differ only where their providers do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from generations.providers.errors import ContentRefused, ProviderError, QuotaError
from generations.providers.http import error_from_response, redact, request_id_from

__all__ = [
    "describe",
    "error_fields",
    "json_or_none",
    "marked",
    "reply_error",
    "reply_error_fields",
]

# Where each envelope keeps the error's code and its words, first present wins.
_CODE_KEYS = ("code", "type", "reason", "error_code")
_MESSAGE_KEYS = ("message", "msg", "error_msg", "detail", "title")
# Keys that wrap the error object itself (`{"error": {...}}`, FastAPI's `{"detail": [...]}`).
_WRAPPER_KEYS = ("error", "detail")


def json_or_none(content: bytes) -> Any:
    """The JSON document in `content`, or None where it holds none."""
    try:
        return json.loads(content)
    except ValueError:  # both JSONDecodeError and UnicodeDecodeError are
        return None


def error_fields(error: object) -> tuple[str, str]:
    """(code, message) from the error envelopes seen: `{code, message}` (Ark, Ace, OpenAI's
    `{type, message}`), `{message, reason}` (Scenario), `{error_code, error_msg}` (SinanCode),
    any of these under `error`, FastAPI's `detail` (fal: a list of `{type, msg}`, an object or
    a string), problem details `{title, detail}` (Replicate) or a bare string. Empty strings
    for what the envelope does not say."""
    if isinstance(error, str):
        return "", error
    if isinstance(error, list):
        found = [error_fields(item) for item in error if isinstance(item, Mapping)]
        if not found:
            return "", ""
        return found[0][0], "; ".join(message for _, message in found if message)
    if not isinstance(error, Mapping):
        return "", ""
    for wrapper in _WRAPPER_KEYS:
        inner = error.get(wrapper)
        if isinstance(inner, Mapping | list):
            code, message = error_fields(inner)
            rest = {key: value for key, value in error.items() if key != wrapper}
            outer_code, outer_message = error_fields(rest)
            return code or outer_code, message or outer_message
    code = next((str(error[key]) for key in _CODE_KEYS if error.get(key)), "")
    message = next((str(error[key]) for key in _MESSAGE_KEYS if error.get(key)), "")
    said = error.get("error")
    if isinstance(said, str) and said:
        # Beside a message, a bare `error` string is its code (fal's `{error, message}`).
        if message:
            code = code or said
        else:
            message = said
    return code, message


def describe(code: str, message: str) -> str:
    """An error's words for logs and operators: "code: message"."""
    text = message.strip() or "no message"
    return f"{code}: {text}" if code else text


def marked(text: str, marks: Iterable[str]) -> bool:
    """Whether `text` names one of `marks` (case does not matter)."""
    lowered = text.lower()
    return any(mark.lower() in lowered for mark in marks)


def reply_error_fields(response: httpx.Response) -> tuple[str, str]:
    """(code, message) of a reply that is not a success; its status line and the start of its
    body where it holds no envelope we can read (a gateway's HTML page, say)."""
    code, message = error_fields(json_or_none(response.content))
    if not message:
        message = f"HTTP {response.status_code}: {response.text[:200] or 'no body'}"
    return code, message


def reply_error(
    response: httpx.Response,
    *,
    refusal_marks: Iterable[str] = (),
    balance_marks: Iterable[str] = (),
    secrets: Iterable[str] = (),
    fields: tuple[str, str] | None = None,
    message: str = "",
) -> ProviderError:
    """A reply that is not a success as its `ProviderError`: a content refusal where a 400 or
    422 names one of `refusal_marks`, an empty account where a 403 names one of
    `balance_marks`, else what its status says (`http.error_from_response`: 401/403 auth, 402
    quota, 429 with Retry-After, 5xx, ...). `fields` and `message` override what is read."""
    code, words = fields or reply_error_fields(response)
    text = message or describe(code, words)
    status, said = response.status_code, f"{code} {words}"
    refined: type[ProviderError] | None = None
    if status in (400, 422) and marked(said, refusal_marks):
        refined = ContentRefused
    elif status == 403 and marked(said, balance_marks):
        refined = QuotaError
    if refined is None:
        return error_from_response(
            response, message=text, provider_code=code or None, secrets=secrets
        )
    return refined(
        message=redact(text, secrets),
        http_status=status,
        provider_code=code or None,
        request_id=request_id_from(response),
    )
