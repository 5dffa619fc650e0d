"""Siraya (kind "siraya"): an OpenAI-style relay of Seedream 4.0, 4.5 and 5.0 lite.

Wire facts come from providers.md §6 and Siraya's own Seedream page (shared seed 004, which also
prints the 4K table and a reply example): `POST {base}/v1/images/generations`, synchronous, one
image per call, `size` required, at most one reference image (`image`, a single string: a
"Reference image URL", so a stored reference goes as our signed link to it, never inline),
`watermark` (default false) and `response_format` (default `b64_json`). `base_url` is the origin
(default https://llm.siraya.ai); the path supplies `/v1`.

Request decisions:
- Everything Siraya cannot do is refused before any call, so a request never costs a round trip
  (or money) to learn it: more than one image (there is no group generation), more than one
  reference, a seed or guidance scale (none documented), PNG (Siraya's replies are JPEG).
- `size`: an explicit WxH passes only if it is in Siraya's table and above 4.5 / 5.0 lite's
  3,686,400-pixel floor ("only the values in the table are supported"). A tier becomes the
  table's WxH for the request's aspect ratio: Siraya's tier keywords take the shape from the
  prompt's wording, which would drop the ratio the user chose. The 3K tier (5.0 lite) has no
  stored table, so 3K at 1:1 goes out as the keyword (documented to default to a square) and
  other 3K shapes are refused. Refusals name the allowed sizes.
- `watermark` and `response_format` are always sent: the defaults are one reseller's word.
  `stream` is not sent (not documented); with one image per call there is nothing to stream.
  Account options: `model_ids`, `watermark` (default False), `response_format` ("b64_json"
  default, or "url").

Errors: ASSUMPTION (§6 shows no error body): Siraya answers in the OpenAI envelope
`{"error": {"message", "type", "param", "code"}}` and relays Ark's content-filter codes.

The call itself (client, timeouts, transport errors, downloading image links) is the shared
executor's (`providers/calls.py`); the helpers shared with other adapters are in `wire.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import httpx

from generations.providers.calls import (
    CallAdapter,
    HttpCall,
    ReplyItem,
    ReplyReader,
    WholeReply,
)
from generations.providers.errors import BadRequest, ProviderError
from generations.providers.http import request_id_from
from generations.providers.inputs import ProviderRequest
from generations.providers.registry import register_adapter
from generations.providers.replies import (
    describe,
    image_entries,
    image_failure_by_marks,
    reply_error,
    reply_error_fields,
)
from generations.providers.wire import (
    ReferenceRoute,
    accepted_call,
    deliver_reference,
    provider_model_id,
    reply_json_object,
    wants_watermark,
)

__all__ = ["SIRAYA_MODELS", "SIRAYA_SIZE_TABLE", "SirayaAdapter", "siraya_size"]

DEFAULT_BASE_URL = "https://llm.siraya.ai"
GENERATIONS_PATH = "/v1/images/generations"
RESPONSE_FORMATS = ("b64_json", "url")
SQUARE = "1:1"
# "image: Reference image URL" (seed 004): a URL only, so our signed link to the stored file.
REFERENCE_ROUTE = ReferenceRoute(provider="Siraya")

SIRAYA_MODELS: Mapping[str, str] = {
    "seedream-4.0": "ByteDance-Seedream-4.0",
    "seedream-4.5": "ByteDance-Seedream-4.5",
    "seedream-5.0-lite": "Dola-Seedream-5.0-lite",
}
# Shorthands per model on Siraya's page. A catalog id served only through a `model_ids`
# override falls back to the three tables.
_TIERS: Mapping[str, tuple[str, ...]] = {
    "seedream-4.0": ("1K", "2K", "4K"),
    "seedream-4.5": ("2K", "4K"),
    "seedream-5.0-lite": ("2K", "3K", "4K"),
}
_DEFAULT_TIERS = ("1K", "2K", "4K")
_MIN_PIXELS: Mapping[str, int] = {"seedream-4.5": 3_686_400, "seedream-5.0-lite": 3_686_400}
# The tier Siraya documents only as a keyword; its table was not in any stored copy.
_KEYWORD_ONLY_TIER = "3K"

# Siraya's table (seed 004), which differs from Ark's in the 1K row: 16:9 is 1312x736 and 21:9
# is 1568x672 there.
SIRAYA_SIZE_TABLE: Mapping[str, Mapping[str, str]] = {
    "1K": {
        "1:1": "1024x1024",
        "3:4": "864x1152",
        "4:3": "1152x864",
        "16:9": "1312x736",
        "9:16": "736x1312",
        "2:3": "832x1248",
        "3:2": "1248x832",
        "21:9": "1568x672",
    },
    "2K": {
        "1:1": "2048x2048",
        "3:4": "1728x2304",
        "4:3": "2304x1728",
        "16:9": "2848x1600",
        "9:16": "1600x2848",
        "3:2": "2496x1664",
        "2:3": "1664x2496",
        "21:9": "3136x1344",
    },
    "4K": {
        "1:1": "4096x4096",
        "3:4": "3520x4704",
        "4:3": "4704x3520",
        "16:9": "5504x3040",
        "9:16": "3040x5504",
        "2:3": "3328x4992",
        "3:2": "4992x3328",
        "21:9": "6240x2656",
    },
}

# ASSUMPTION: refusals carry Ark's codes (…SensitiveContentDetected) or OpenAI's
# `content_policy_violation`; either marks a content refusal.
_REFUSAL_MARKS = ("sensitivecontent", "content_policy", "content_filter", "moderation")
# A 403 that is about money, not about the key.
_BALANCE_MARKS = ("balance", "quota", "insufficient", "overdue", "arrears", "billing")


@register_adapter
class SirayaAdapter(CallAdapter):
    kind = "siraya"
    default_base_url = DEFAULT_BASE_URL
    fetches_reference_links = REFERENCE_ROUTE.links_only

    def call_for(self, request: ProviderRequest) -> HttpCall:
        body = self.request_body(request)
        return HttpCall("POST", f"{self.base_url}{GENERATIONS_PATH}", self.auth_headers(), body)

    def reader(self, response: httpx.Response, call: HttpCall) -> ReplyReader:
        return WholeReply(
            lambda content: self._read_reply(
                httpx.Response(200, headers=response.headers, content=content),
                model_id=call.json["model"],
            )
        )

    def error_from_reply(self, response: httpx.Response, call: HttpCall) -> ProviderError:
        return self._error_from(response, model_id=call.json["model"])

    def check(self) -> str:
        return self.check_with_empty_request(
            f"{self.base_url}{GENERATIONS_PATH}",
        )

    # --- request -------------------------------------------------------------------------
    def request_body(self, request: ProviderRequest) -> dict[str, Any]:
        """The JSON body for `request`; `BadRequest` for anything Siraya cannot do."""
        model_id = provider_model_id(self.account, request.model, SIRAYA_MODELS, "Siraya")
        if request.max_images > 1:
            raise BadRequest(
                message=f"Siraya makes one image per request (it has no group generation); "
                f"{request.max_images} were asked for"
            )
        if len(request.references) > 1:
            raise BadRequest(
                message=f"Siraya takes at most one reference image; got {len(request.references)}"
            )
        if request.seed is not None or request.guidance_scale is not None:
            raise BadRequest(message="Siraya takes no seed or guidance scale")
        if request.output_format != "jpeg":
            raise BadRequest(message="Siraya returns JPEG images only")
        body: dict[str, Any] = {
            "model": model_id,
            "prompt": request.prompt,
            "size": siraya_size(request),
            "watermark": wants_watermark(self.account, request),
            "response_format": self._response_format(),
        }
        if request.references:
            body["image"] = deliver_reference(request.references[0], REFERENCE_ROUTE)
        return body

    def _response_format(self) -> str:
        value = self.account.options.get("response_format", "b64_json")
        if value not in RESPONSE_FORMATS:
            raise ValueError(
                f"siraya option response_format must be b64_json or url, got {value!r}"
            )
        return str(value)

    # --- replies -------------------------------------------------------------------------
    def _read_reply(self, response: httpx.Response, *, model_id: str) -> list[ReplyItem]:
        # Siraya answered 200: it took (and billed) the call, so nothing here may fail over.
        with accepted_call():
            return self._reply_items(response, model_id=model_id)

    def _reply_items(self, response: httpx.Response, *, model_id: str) -> list[ReplyItem]:
        request_id = request_id_from(response)
        reply = reply_json_object(response, secrets=self.secrets)
        # ASSUMPTION: a failed image is a relayed Ark per-image failure (`data[].error`).
        items = image_entries(
            reply.get("data"),
            provider="Siraya",
            failure=partial(image_failure_by_marks, marks=_REFUSAL_MARKS, secrets=self.secrets),
            request_id=request_id,
        )
        usage = reply.get("usage")
        return [
            *items,
            self.usage(
                items, model=model_id, usage=dict(usage) if isinstance(usage, Mapping) else {}
            ),
        ]

    def _error_from(self, response: httpx.Response, *, model_id: str) -> ProviderError:
        # Refusals and empty accounts by the marks, everything else by status: 401/403 auth,
        # 402 quota, 429 with Retry-After, 5xx, ...
        message = ""
        if response.status_code == 404:
            text = describe(*reply_error_fields(response))
            message = f"model {model_id} is not available on this Siraya account: {text}"
        return reply_error(
            response,
            refusal_marks=_REFUSAL_MARKS,
            balance_marks=_BALANCE_MARKS,
            secrets=self.secrets,
            message=message,
        )


def siraya_size(request: ProviderRequest) -> str:
    """The `size` Siraya accepts for `request`, or `BadRequest` naming the allowed ones."""
    tiers = _TIERS.get(request.model, _DEFAULT_TIERS)
    floor = _MIN_PIXELS.get(request.model, 0)
    allowed = [
        size
        for tier in tiers
        for size in SIRAYA_SIZE_TABLE.get(tier, {}).values()
        if _pixels(size) >= floor
    ]
    aspect = request.aspect_ratio or SQUARE
    is_tier = request.size in SIRAYA_SIZE_TABLE or request.size == _KEYWORD_ONLY_TIER
    if is_tier and request.size in tiers:
        if request.size == _KEYWORD_ONLY_TIER:
            if aspect == SQUARE:
                return request.size
        elif aspect in SIRAYA_SIZE_TABLE[request.size]:
            return SIRAYA_SIZE_TABLE[request.size][aspect]
    elif request.size in allowed:
        return request.size
    asked = f"{request.size} at {aspect}" if is_tier else request.size
    keyword = f" or {_KEYWORD_ONLY_TIER} at 1:1" if _KEYWORD_ONLY_TIER in tiers else ""
    raise BadRequest(
        message=f"Siraya takes only the sizes in its table for {request.model}: "
        f"{', '.join(allowed)}{keyword}; {asked} is not one of them"
    )


def _pixels(size: str) -> int:
    width, _, height = size.partition("x")
    return int(width) * int(height)
