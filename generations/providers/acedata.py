"""Ace Data Cloud (kind "acedata"): a reseller that passes Volcengine Ark's Seedream fields on.

Wire facts: providers.md §4, §9 and Ace's own page (shared seed 002). `POST {base}/seedream/images`
answers synchronously with `{"success": true, "task_id", "trace_id", "data": [{"prompt",
"size", "image_url"}]}`; with `async: true` it answers `{"task_id"}` at once, and
`POST {base}/seedream/tasks` with `{"id", "action": "retrieve"}` returns the task record, whose
`response` is pending while it has no `success` (§4.4, as Ace's own MCP server reads it).
Errors: `{"success": false, "error": {"code", "message"}, "trace_id"}`. `base_url` is the
origin (default https://api.acedata.cloud).

Request decisions (the same as ark.py's where Ace only relays Ark's fields):
- full model ids: Ace answers 400 to abbreviations such as `doubao-seedream-5.0-lite`;
- `watermark` always sent (Ace's default is true), `response_format` always "url" (the b64
  reply shape is not documented);
- the group models always get `sequential_image_generation` and `max_images` (under `auto`,
  `max_images` defaults to 15 and every image is paid for); a tier with a non-square aspect
  ratio goes out as the table's WxH, because the tier keyword takes the shape from the prompt;
- `seed`/`guidance_scale` only for 3.0-t2i and SeedEdit, `output_format` only for 5.0 lite;
- no `stream`, no `callback_url`: the NDJSON stream's line payload is not documented and a
  callback needs a public URL; `async` polling gives the same result through a firewall.

Account options: `model_ids`, `watermark` (False), `async` (False), `poll_interval_s` (2.0),
`deadline_s` (300: the whole call, polling included, then `ProviderTimeout`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from generations.providers.contract import (
    AccountConfig,
    BaseAdapter,
    ProviderImage,
    ProviderImageFailure,
    ProviderOutcome,
    ProviderRequest,
    ProviderUsage,
)
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
from generations.providers.http import (
    error_from_status,
    map_transport_errors,
    parse_retry_after,
    redact,
    request_id_from,
)
from generations.providers.registry import register_adapter
from generations.providers.wire import (
    accepted_call,
    fetch_image,
    provider_model_id,
    reference_wire_value,
    reply_json_object,
    wants_watermark,
)

__all__ = ["ACE_MODEL_IDS", "AceDataAdapter", "ace_error"]

DEFAULT_BASE_URL = "https://api.acedata.cloud"
IMAGES_PATH = "/seedream/images"
TASKS_PATH = "/seedream/tasks"
SQUARE = "1:1"

# The OpenAPI enum's spellings (§4.2); the guide's `doubao-seedream-5-0-lite-260128` is an alias.
ACE_MODEL_IDS: Mapping[str, str] = {
    "seedream-5.0-lite": "doubao-seedream-5-0-260128",
    "seedream-4.5": "doubao-seedream-4-5-251128",
    "seedream-4.0": "doubao-seedream-4-0-250828",
    "seedream-3.0-t2i": "doubao-seedream-3-0-t2i-250415",
    "seededit-3.0-i2i": "doubao-seededit-3-0-i2i-250628",
}
_GROUP_MODELS = frozenset({"seedream-5.0-lite", "seedream-4.5", "seedream-4.0"})
_SEED_AND_GUIDANCE_MODELS = frozenset({"seedream-3.0-t2i", "seededit-3.0-i2i"})
_OUTPUT_FORMAT_MODELS = frozenset({"seedream-5.0-lite"})

# `error.code` values (§4.3 table, §9.8). ASSUMPTION: `disabled` (a 400 listed with the token
# codes) means a disabled token or application, so another account may serve.
_ERROR_CLASSES: Mapping[str, type[ProviderError]] = {
    "invalid_token": AuthError,
    "token_expired": AuthError,
    "token_mismatched": AuthError,
    "no_token": AuthError,
    "disabled": AuthError,
    "used_up": QuotaError,
    "too_many_requests": RateLimited,
    "bad_request": BadRequest,
    "request_too_large": BadRequest,
    "api_not_implemented": BadRequest,
    "no_api": BadRequest,
    "api_error": Unavailable,
}
# ASSUMPTION: Ace has no refusal code of its own (§9.8: "success:false"); it relays Ark's
# "...SensitiveContentDetected" text inside a `bad_request` message.
_REFUSAL_MARKS = ("sensitivecontent", "sensitive content", "sensitive information")


@register_adapter
class AceDataAdapter(BaseAdapter):
    kind = "acedata"

    def __init__(
        self, account: AccountConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(account, transport=transport)
        # Polling waits through this and `sleep`, so tests run a long task without real time.
        self.clock: Callable[[], float] = time.monotonic

    @property
    def base_url(self) -> str:
        return (self.account.base_url or DEFAULT_BASE_URL).rstrip("/")

    def generate(self, request: ProviderRequest) -> Iterator[ProviderOutcome]:
        body = self.request_body(request)
        poll_interval_s = self._seconds_option("poll_interval_s", 2.0)
        deadline = self.clock() + self._seconds_option("deadline_s", 300.0)
        if not self.account.api_key:
            raise AuthError(message="the Ace Data Cloud account has no API key")
        headers = {"Authorization": f"Bearer {self.account.api_key}", "Accept": "application/json"}
        with self.http_client(headers=headers) as client:
            reply = self._post(client, IMAGES_PATH, body)
            # From here on Ace holds the call: nothing raised may send it to another account.
            with accepted_call():
                if body.get("async") and "data" not in reply and reply.get("success") is not False:
                    reply = self._wait_for_task(
                        client, reply, poll_interval_s=poll_interval_s, deadline=deadline
                    )
                yield from self._outcomes(reply, model_id=body["model"])

    def check(self) -> str:
        return self.check_with_empty_request(
            f"{self.base_url}{IMAGES_PATH}",
            headers={"Authorization": f"Bearer {self.account.api_key}"},
        )

    # --- request -------------------------------------------------------------------------
    def request_body(self, request: ProviderRequest) -> dict[str, Any]:
        """The JSON body for `request`; `BadRequest` for anything Ace cannot do."""
        model_id = provider_model_id(self.account, request.model, ACE_MODEL_IDS, "Ace Data Cloud")
        group = request.model in _GROUP_MODELS
        if request.max_images > 1 and not group:
            raise BadRequest(message=f"{request.model} makes one image per request")
        if request.output_format != "jpeg" and request.model not in _OUTPUT_FORMAT_MODELS:
            raise BadRequest(message=f"{request.model} returns JPEG images only")
        body: dict[str, Any] = {
            "action": "generate",  # as in every example of Ace's guide
            "model": model_id,
            "prompt": request.prompt,
            "size": _size_field(request),
        }
        if request.references:
            body["image"] = [reference_wire_value(reference) for reference in request.references]
        if group:
            body["sequential_image_generation"] = "auto" if request.max_images > 1 else "disabled"
            body["sequential_image_generation_options"] = {"max_images": request.max_images}
        if request.model in _SEED_AND_GUIDANCE_MODELS:
            if request.seed is not None:
                body["seed"] = request.seed
            if request.guidance_scale is not None:
                body["guidance_scale"] = request.guidance_scale
        body["watermark"] = wants_watermark(self.account, request)
        body["response_format"] = "url"
        if request.model in _OUTPUT_FORMAT_MODELS:
            body["output_format"] = request.output_format
        if self.account.options.get("async", False):
            body["async"] = True
        return body

    def _seconds_option(self, name: str, default: float) -> float:
        value = self.account.options.get(name, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ValueError(f"acedata option {name} must be a positive number, got {value!r}")
        return float(value)

    # --- calls ---------------------------------------------------------------------------
    def _post(self, client: httpx.Client, path: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """POST and return the JSON object of a 200; a mapped `ProviderError` for the rest."""
        with map_transport_errors(secrets=self.secrets):
            response = client.post(f"{self.base_url}{path}", json=body)
        if response.status_code == 200:
            return reply_json_object(response, secrets=self.secrets)
        try:
            payload: object = response.json()
        except ValueError:  # a gateway's HTML page, say
            payload = None
        envelope = payload if isinstance(payload, Mapping) else {}
        error = envelope.get("error") or f"HTTP {response.status_code}: {response.text[:200]}"
        raise ace_error(
            error,
            http_status=response.status_code,
            request_id=str(envelope.get("trace_id") or "") or request_id_from(response),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            secrets=self.secrets,
        )

    def _wait_for_task(
        self,
        client: httpx.Client,
        accepted: Mapping[str, Any],
        *,
        poll_interval_s: float,
        deadline: float,
    ) -> Mapping[str, Any]:
        """Poll the task until its `response` has `success`, or raise `ProviderTimeout`.

        Polling only reads, so throttling, 5xx and dropped connections on a poll are waited
        out (a rate limit for at least its Retry-After) rather than ending the call.
        """
        task_id = accepted.get("task_id")
        if not isinstance(task_id, str) or not task_id:
            raise BadResponse(message="Ace accepted the async call but sent no task_id")
        wait = poll_interval_s
        while True:
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise ProviderTimeout(
                    message=f"Ace Data Cloud task {task_id} had not finished by the deadline",
                    before_accepted=False,
                )
            self.sleep(min(wait, remaining))
            wait = poll_interval_s
            try:
                record = self._post(client, TASKS_PATH, {"id": task_id, "action": "retrieve"})
            except RateLimited as throttled:
                wait = max(poll_interval_s, throttled.retry_after or 0.0)
                continue
            except (Unavailable, ProviderTimeout):
                continue
            finished = _task_response(record)
            if finished is not None:
                return finished

    # --- replies -------------------------------------------------------------------------
    def _outcomes(self, reply: Mapping[str, Any], *, model_id: str) -> Iterator[ProviderOutcome]:
        trace_id = str(reply.get("trace_id") or "") or None
        if reply.get("success") is False:
            raise ace_error(
                reply.get("error"), http_status=None, request_id=trace_id, secrets=self.secrets
            )
        data = reply.get("data")
        if not isinstance(data, list) or not data:
            raise BadResponse(message="Ace's reply has no images", request_id=trace_id)
        delivered = 0
        for index, entry in enumerate(data):
            outcome = self._entry_outcome(entry, index=index, request_id=trace_id)
            delivered += isinstance(outcome, ProviderImage)
            yield outcome
        yield ProviderUsage(
            generated_images=delivered,
            raw={
                "provider": self.kind,
                "model": model_id,
                "task_id": reply.get("task_id"),
                "trace_id": trace_id,
            },
        )

    def _entry_outcome(
        self, entry: object, *, index: int, request_id: str | None
    ) -> ProviderImage | ProviderImageFailure:
        if not isinstance(entry, Mapping):
            raise BadResponse(message="an image entry is not an object", request_id=request_id)
        failure = entry.get("error")
        if failure:
            # ASSUMPTION: Ace relays Ark's per-image `data[].error` (§9.8 "inherits Ark").
            code, message = _error_fields(failure)
            refused = _is_refusal(f"{code} {message}")
            return ProviderImageFailure(
                index=index,
                code=ContentRefused.code if refused else ProviderError.code,
                message=redact(_describe(code, message), self.secrets),
            )
        url = entry.get("image_url")
        if not isinstance(url, str) or not url:
            raise BadResponse(message="an image entry has no image_url", request_id=request_id)
        return fetch_image(self, url, index=index)


def ace_error(
    error: object,
    *,
    http_status: int | None,
    request_id: str | None = None,
    retry_after: float | None = None,
    secrets: tuple[str, ...] = (),
) -> ProviderError:
    """The `ProviderError` for an Ace `error` object; `http_status` None for a failed task."""
    code, message = _error_fields(error)
    text = redact(_describe(code, message), secrets)
    error_class = _ERROR_CLASSES.get(code)
    if error_class is None:
        if http_status is not None and http_status >= 400:
            return error_from_status(
                http_status,
                message=text,
                provider_code=code or None,
                retry_after=retry_after,
                request_id=request_id,
            )
        # A failed task with a code we do not know: the provider's side could not make it.
        error_class = Unavailable
    fields: dict[str, Any] = {
        "message": text,
        "http_status": http_status,
        "provider_code": code or None,
        "request_id": request_id,
    }
    if error_class is BadRequest and _is_refusal(text):
        return ContentRefused(**fields)
    if error_class is RateLimited:
        return RateLimited(**fields, retry_after=retry_after)
    if code == "no_api" or http_status == 404:
        fields["message"] = f"the model or API is not available to this account: {text}"
    return error_class(**fields)


def _task_response(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The finished task's reply, or None while it runs.

    The OpenAPI record nests it under `response`; the guide's example prints the reply alone.
    """
    inner = record.get("response") if "response" in record else record
    if isinstance(inner, Mapping) and "success" in inner:
        return inner
    return None


def _size_field(request: ProviderRequest) -> str:
    if request.aspect_ratio and request.aspect_ratio != SQUARE:
        return f"{request.width}x{request.height}"
    return request.size


def _error_fields(error: object) -> tuple[str, str]:
    if not isinstance(error, Mapping):
        return "", str(error or "no error details")
    return str(error.get("code") or ""), str(error.get("message") or "")


def _describe(code: str, message: str) -> str:
    text = message.strip() or "no message"
    return f"{code}: {text}" if code else text


def _is_refusal(text: str) -> bool:
    lowered = text.lower()
    return any(mark in lowered for mark in _REFUSAL_MARKS)
