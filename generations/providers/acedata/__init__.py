"""Ace Data Cloud (kind "acedata"): a reseller that passes Volcengine Ark's Seedream fields on.

Wire facts: providers.md §4, §9 and Ace's own page (shared seed 002). `POST {base}/seedream/images`
answers synchronously with `{"success": true, "task_id", "trace_id", "data": [{"prompt",
"size", "image_url"}]}`; with `async: true` it answers `{"task_id"}` at once, and
`POST {base}/seedream/tasks` with `{"id", "action": "retrieve"}` returns the task record, whose
`response` is pending while it has no `success` (§4.4, as Ace's own MCP server reads it).
Errors: `{"success": false, "error": {"code", "message"}, "trace_id"}`. `base_url` is the
origin (default https://api.acedata.cloud).

Request decisions (the same as the Ark adapter's where Ace only relays Ark's fields):
- full model ids: Ace answers 400 to abbreviations such as `doubao-seedream-5.0-lite`;
- `watermark` always sent (Ace's default is true), `response_format` always "url" (the b64
  reply shape is not documented);
- the group models always get `sequential_image_generation` and `max_images` (under `auto`,
  `max_images` defaults to 15 and every image is paid for); a tier with a non-square aspect
  ratio goes out as the table's WxH, because the tier keyword takes the shape from the prompt;
- `seed` only for 3.0-t2i (Ace's OpenAPI and guide, seed 002: no other model accepts it; a
  seed for SeedEdit is refused before any call, failover-safe, since Ark takes it there),
  `guidance_scale` for 3.0-t2i and SeedEdit, `output_format` only for 5.0 lite;
- no `stream`, no `callback_url`: the NDJSON stream's line payload is not documented and a
  callback needs a public URL; `async` polling gives the same result through a firewall.

Sync mode is a call answered in the response (calls.py): Ace holds it until the images exist,
so it waits on the worker's event loop, reading for at least `SYNC_READ_TIMEOUT_S`. Async mode
is a job (jobs.py): the submit answers a task id and the worker's re-scheduled polls each read
the task once. The generation's deadline bounds the polling.

Account options: `model_ids`, `watermark` (False), `async` (False).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar

import httpx

from generations.providers.base import BaseAdapter
from generations.providers.calls import (
    CallAdapter,
    HttpCall,
    ReplyItem,
    ReplyReader,
    WholeReply,
)
from generations.providers.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    ContentRefused,
    ProviderError,
    QuotaError,
    RateLimited,
    Unavailable,
    unserved_request,
)
from generations.providers.http import (
    error_from_status,
    parse_retry_after,
    redact,
    request_id_from,
)
from generations.providers.inputs import AccountConfig, ProviderRequest
from generations.providers.job_wire import finished_job, poll_failure
from generations.providers.jobs import JobAdapter, JobStatus, ProviderJob
from generations.providers.registry import register_adapter
from generations.providers.replies import (
    describe,
    error_fields,
    image_entries,
    image_failure_by_marks,
    json_or_none,
    marked,
    reply_error_fields,
)
from generations.providers.wire import (
    accepted_call,
    provider_model_id,
    reference_wire_value,
    reply_json_object,
    wants_watermark,
)

__all__ = [
    "ACE_MODEL_IDS",
    "AceDataAdapter",
    "AceDataCallAdapter",
    "AceDataTaskAdapter",
    "ace_error",
]

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
# `seed` is taken by 3.0-t2i alone: "other models do not accept this parameter" (seed 002, Ace's
# OpenAPI). `guidance_scale` by 3.0-t2i and SeedEdit (seed 002).
_SEED_MODELS = frozenset({"seedream-3.0-t2i"})
_GUIDANCE_MODELS = frozenset({"seedream-3.0-t2i", "seededit-3.0-i2i"})
# How long the sync call may read at least. Ace holds it open until the images are made, which
# takes 1-2 minutes (a group longer); the usual 120 s account default would cut off replies
# Ace has already billed. An account's longer read timeout still wins.
SYNC_READ_TIMEOUT_S = 300.0
_OUTPUT_FORMAT_MODELS = frozenset({"seedream-5.0-lite"})
# Tiers Ace lists as presets (seed 002) whose non-square WxH passes the pixel range Ace relays
# from Ark (§1.4: 5.0 lite at most 10,404,496 px; ASSUMPTION: Ace enforces it too).
_KEYWORD_ONLY_TIERS: Mapping[str, tuple[str, ...]] = {"seedream-5.0-lite": ("4K",)}

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
    """Ace's translation, which both modes share; an account gets the mode its options name
    (`AceDataCallAdapter` or `AceDataTaskAdapter`), whose executor does the rest."""

    kind = "acedata"
    default_base_url: ClassVar[str] = DEFAULT_BASE_URL

    @classmethod
    def adapter_class_for(cls, account: AccountConfig) -> type[BaseAdapter]:
        return AceDataTaskAdapter if _asynchronous(account) else AceDataCallAdapter

    def check(self) -> str:
        return self.check_with_empty_request(f"{self.base_url}{IMAGES_PATH}")

    def request_body(self, request: ProviderRequest) -> dict[str, Any]:
        """The JSON body for `request`; `BadRequest` for anything Ace cannot do."""
        model_id = provider_model_id(self.account, request.model, ACE_MODEL_IDS, "Ace Data Cloud")
        group = request.model in _GROUP_MODELS
        if request.max_images > 1 and not group:
            raise BadRequest(message=f"{request.model} makes one image per request")
        if request.output_format != "jpeg" and request.model not in _OUTPUT_FORMAT_MODELS:
            raise BadRequest(message=f"{request.model} returns JPEG images only")
        if request.seed is not None and request.model not in _SEED_MODELS:
            # Nothing was sent, and another account (Ark takes SeedEdit's seed) may honour it.
            raise unserved_request(
                f"Ace Data Cloud takes a seed for seedream-3.0-t2i only, not for {request.model}"
            )
        keyword_only = _KEYWORD_ONLY_TIERS.get(request.model, ())
        if request.size in keyword_only and request.aspect_ratio not in ("", SQUARE):
            raise unserved_request(
                f"Ace Data Cloud serves {request.model} at {request.size} only as the keyword, "
                f"which takes its shape from the prompt; not at {request.aspect_ratio}"
            )
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
        if request.model in _SEED_MODELS and request.seed is not None:
            body["seed"] = request.seed
        if request.model in _GUIDANCE_MODELS and request.guidance_scale is not None:
            body["guidance_scale"] = request.guidance_scale
        body["watermark"] = wants_watermark(self.account, request)
        body["response_format"] = "url"
        if request.model in _OUTPUT_FORMAT_MODELS:
            body["output_format"] = request.output_format
        if _asynchronous(self.account):
            body["async"] = True
        return body

    def error_from_reply(self, response: httpx.Response, call: object = None) -> ProviderError:
        """The error for a reply that is not a 200: Ace's envelope, else its status."""
        payload = json_or_none(response.content)
        envelope = payload if isinstance(payload, Mapping) else {}
        return ace_error(
            reply_error_fields(response),
            http_status=response.status_code,
            request_id=str(envelope.get("trace_id") or "") or request_id_from(response),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            secrets=self.secrets,
        )

    def raise_if_failed(self, reply: Mapping[str, Any]) -> None:
        """A 200 reply (or finished task) with `success: false` as its `ProviderError`."""
        if reply.get("success") is False:
            trace_id = str(reply.get("trace_id") or "") or None
            raise ace_error(
                reply.get("error"), http_status=None, request_id=trace_id, secrets=self.secrets
            )

    def reply_items(self, reply: Mapping[str, Any], *, model_id: str) -> list[ReplyItem]:
        """A finished reply's images (as links to download), per-image failures and usage;
        a reply with `success: false` raised as its `ProviderError`. Ace took (and billed)
        the call: nothing raised here may send it to another account."""
        trace_id = str(reply.get("trace_id") or "") or None
        with accepted_call():
            self.raise_if_failed(reply)
            # ASSUMPTION: Ace relays Ark's per-image `data[].error` (§9.8 "inherits Ark").
            items = image_entries(
                reply.get("data"),
                provider="Ace",
                failure=partial(image_failure_by_marks, marks=_REFUSAL_MARKS, secrets=self.secrets),
                request_id=trace_id,
                url_key="image_url",
            )
        # What Ace made and bills: each image link, downloaded or not.
        usage = self.usage(items, model=model_id, task_id=reply.get("task_id"), trace_id=trace_id)
        return [*items, usage]


class AceDataCallAdapter(AceDataAdapter, CallAdapter):
    """Sync mode: one call Ace answers once the images exist (1-2 minutes, a group longer),
    awaited on the worker's event loop, reading for at least `SYNC_READ_TIMEOUT_S`."""

    min_read_timeout_s: ClassVar[float] = SYNC_READ_TIMEOUT_S

    def call_for(self, request: ProviderRequest) -> HttpCall:
        body = self.request_body(request)
        headers = {**self.auth_headers(), "Accept": "application/json"}
        return HttpCall("POST", f"{self.base_url}{IMAGES_PATH}", headers, body)

    def reader(self, response: httpx.Response, call: HttpCall) -> ReplyReader:
        def read(content: bytes) -> list[ReplyItem]:
            with accepted_call():
                reply = reply_json_object(
                    httpx.Response(200, headers=response.headers, content=content),
                    secrets=self.secrets,
                )
            return self.reply_items(reply, model_id=call.json["model"])

        return WholeReply(read)


class AceDataTaskAdapter(AceDataAdapter, JobAdapter):
    """Async mode (`options["async"]`): the submit answers `{"task_id"}` at once and each of the
    worker's re-scheduled polls reads the task record once. Ace documents no way to stop a
    task (§4.4), so `cancel` asks nothing; the generation's deadline still ends the attempt."""

    def submit(self, request: ProviderRequest) -> ProviderJob:
        body = self.request_body(request)
        reply = self.call_json("POST", IMAGES_PATH, body)
        with accepted_call():
            self.raise_if_failed(reply)
            task_id = reply.get("task_id")
            if not isinstance(task_id, str) or not task_id:
                raise BadResponse(message="Ace accepted the async call but sent no task_id")
        return ProviderJob(job_id=task_id, state={"model_id": body["model"]})

    def poll(self, job: ProviderJob) -> JobStatus:
        try:
            record = self.call_json("POST", TASKS_PATH, {"id": job.job_id, "action": "retrieve"})
        except ProviderError as error:
            # Throttling, 5xx and dropped connections are "not done yet"; the next poll asks
            # again within the generation's deadline.
            return poll_failure(error)
        reply = _task_response(record)
        if reply is None:
            return JobStatus(done=False, provider_status="pending")
        items = self.reply_items(reply, model_id=str(job.state.get("model_id") or ""))
        return finished_job(self, items)

    def cancel(self, job: ProviderJob) -> None:
        """Nothing to ask: Ace documents no cancel for a task (§4.4); it runs to its end."""


def _asynchronous(account: AccountConfig) -> bool:
    return bool(account.options.get("async", False))


def ace_error(
    error: object,
    *,
    http_status: int | None,
    request_id: str | None = None,
    retry_after: float | None = None,
    secrets: tuple[str, ...] = (),
) -> ProviderError:
    """The `ProviderError` for an Ace `error` object, or its (code, message) already read;
    `http_status` None for a failed task."""
    code, message = error if isinstance(error, tuple) else error_fields(error)
    text = redact(describe(code, message), secrets)
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
    if error_class is BadRequest and marked(text, _REFUSAL_MARKS):
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
