"""Reading what providers answer: JSON bodies, error envelopes and the marks that classify them.

Every provider wraps its errors in one of a few envelopes; `error_fields` reads them all, so an
adapter names only its classification marks (the words of a content refusal, of an empty
account) and `reply_error` turns a refusing reply into the `ProviderError` they and its status
say. One place for each, so adapters differ only where their providers do.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from generations.providers.calls import ImageLink, ReplyItem
from generations.providers.contract import ProviderImage, ProviderImageFailure
from generations.providers.errors import BadResponse, ContentRefused, ProviderError, QuotaError
from generations.providers.http import error_from_response, redact, request_id_from
from generations.providers.wire import image_facts

__all__ = [
    "describe",
    "error_fields",
    "image_entries",
    "image_entry",
    "image_failure_by_marks",
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


# --- images in a reply ---------------------------------------------------------------------

ImageFailureReader = Callable[[object, int], ProviderImageFailure]


def image_failure_by_marks(
    failure: object, index: int, *, marks: Iterable[str], secrets: Iterable[str] = ()
) -> ProviderImageFailure:
    """One failed image of a group in our vocabulary: a content refusal where its code or
    words name one of `marks`, else a failure of the provider's."""
    code, message = error_fields(failure)
    refused = marked(f"{code} {message}", marks)
    return ProviderImageFailure(
        index=index,
        code=ContentRefused.code if refused else ProviderError.code,
        message=redact(describe(code, message), secrets),
    )


def image_entry(
    entry: object,
    index: int,
    *,
    failure: ImageFailureReader,
    request_id: str | None,
    url_key: str = "url",
) -> ProviderImage | ProviderImageFailure | ImageLink:
    """One `data[]` item of an Ark-style reply (Ark's, and Siraya's and Ace's, which relay it):
    its failure (`error`, read by `failure`), its bytes (`b64_json`) or its link (`url_key`),
    which the executor downloads."""
    if not isinstance(entry, Mapping):
        raise BadResponse(message="an image entry is not an object", request_id=request_id)
    error, encoded, link = entry.get("error"), entry.get("b64_json"), entry.get(url_key)
    if error:
        return failure(error, index)
    if isinstance(link, str) and link and not encoded:
        return ImageLink(index, link)
    if not isinstance(encoded, str) or not encoded:
        raise BadResponse(
            message=f"an image entry has no {url_key} or b64_json", request_id=request_id
        )
    try:
        content = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadResponse(message="b64_json is not base64", request_id=request_id) from exc
    width, height, mime = image_facts(content, request_id=request_id)
    return ProviderImage(
        index=index, content=content, url=None, width=width, height=height, mime=mime
    )


def image_entries(
    data: object,
    *,
    provider: str,
    failure: ImageFailureReader,
    request_id: str | None,
    url_key: str = "url",
) -> list[ReplyItem]:
    """Every item of a reply's `data` list (`image_entry`); `BadResponse` when it has none."""
    if not isinstance(data, list) or not data:
        raise BadResponse(message=f"{provider}'s reply has no images", request_id=request_id)
    return [
        image_entry(entry, index, failure=failure, request_id=request_id, url_key=url_key)
        for index, entry in enumerate(data)
    ]
