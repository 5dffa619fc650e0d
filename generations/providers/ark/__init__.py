"""Seedream from ByteDance itself: Volcengine Ark (kind "ark") and BytePlus ModelArk ("byteplus").

Both run one image-generation API (providers.md §1): `POST {base}/images/generations`, answered
with JSON or, with `stream: true`, server-sent events; there is no task API. They differ only in
base URL and model-id spelling (Volcengine prefixes "doubao-"), which is all `BytePlusAdapter`
changes.

Request decisions, each against a documented default that would surprise a user:
- `watermark` is always sent (official default true, a reseller says false).
- Group models always get `sequential_image_generation` and `max_images`: under `auto`, Ark's
  `max_images` defaults to 15, and the user pays per image.
- A tier with a non-square aspect ratio goes out as the table's WxH. Ark's tier keyword has no
  aspect parameter (the model takes the shape from the prompt), so "2K" alone would drop the
  ratio the user chose; every table size is inside its model's WxH range. 1:1 stays a keyword.
- `seed`/`guidance_scale` only for 3.0-t2i and SeedEdit, `output_format` only for 5.0-lite,
  `stream` only for the group models: the others do not take them.

Reply decisions:
- Image bytes are fetched at once (Ark's URLs live 24 h) and width/height/mime are read from the
  image header, so the `size` field's spelling (one doc example uses a multiplication sign for
  the x) never matters.
- A 200 whose `data` holds failures yields them (with any images), never raises: the caller
  decides. A top-level `error` raises only when `data` is empty; the stream's error event
  likewise only before any image event.
- Usage is the provider's own `usage` dict; if it is missing, the delivered count stands in.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Any, ClassVar

import httpx

from generations.providers.ark.stream import (
    StreamReader,
    ark_error,
    image_failure,
    usage_from,
)
from generations.providers.calls import (
    CallAdapter,
    HttpCall,
    ImageLink,
    ReplyItem,
    ReplyReader,
    WholeReply,
)
from generations.providers.contract import ProviderImage, ProviderImageFailure
from generations.providers.errors import (
    BadRequest,
    BadResponse,
    ProviderError,
    unserved_request,
)
from generations.providers.http import parse_retry_after, request_id_from
from generations.providers.inputs import ProviderRequest, ReferenceInput
from generations.providers.registry import register_adapter
from generations.providers.replies import image_entry, json_or_none
from generations.providers.wire import reference_wire_value

__all__ = ["ARK_BASE_URLS", "ARK_MODELS", "ArkAdapter", "ArkModel", "BytePlusAdapter", "ark_error"]

ARK_BASE_URLS: Mapping[str, str] = MappingProxyType(
    {
        "volcengine-cn-beijing": "https://ark.cn-beijing.volces.com/api/v3",
        "byteplus-ap-southeast": "https://ark.ap-southeast.bytepluses.com/api/v3",
        "byteplus-eu-west": "https://ark.eu-west.bytepluses.com/api/v3",
    }
)
GENERATIONS_PATH = "/images/generations"
RESPONSE_FORMATS = ("url", "b64_json")
SQUARE = "1:1"
TIERS = ("1K", "2K", "3K", "4K")


@dataclass(frozen=True, slots=True, kw_only=True)
class ArkModel:
    """How one catalog model is called on Ark (providers.md §1.2, §1.3)."""

    volcengine_id: str
    byteplus_id: str
    group: bool = False  # sequential group generation and SSE streaming: the same three models
    seed_and_guidance: bool = False
    output_format: bool = False
    tiers: tuple[str, ...] = ()  # size keywords (§1.4)


ARK_MODELS: Mapping[str, ArkModel] = MappingProxyType(
    {
        "seedream-5.0-lite": ArkModel(
            volcengine_id="doubao-seedream-5-0-260128",
            byteplus_id="seedream-5-0-260128",
            group=True,
            output_format=True,
            tiers=("2K", "3K"),  # the official page: no 4K for 5.0 lite (§1.4)
        ),
        "seedream-4.5": ArkModel(
            volcengine_id="doubao-seedream-4-5-251128",
            byteplus_id="seedream-4-5-251128",
            group=True,
            tiers=("2K", "4K"),
        ),
        "seedream-4.0": ArkModel(
            volcengine_id="doubao-seedream-4-0-250828",
            byteplus_id="seedream-4-0-250828",
            group=True,
            tiers=("1K", "2K", "4K"),
        ),
        "seedream-3.0-t2i": ArkModel(
            volcengine_id="doubao-seedream-3-0-t2i-250415",
            byteplus_id="seedream-3-0-t2i-250415",
            seed_and_guidance=True,
        ),
        "seededit-3.0-i2i": ArkModel(
            volcengine_id="doubao-seededit-3-0-i2i-250628",
            byteplus_id="seededit-3-0-i2i-250628",
            seed_and_guidance=True,
        ),
    }
)


@register_adapter
class ArkAdapter(CallAdapter):
    """Volcengine Ark (China). Account options: `model_ids` (catalog id -> model or `ep-` id),
    `watermark` (default False), `response_format` ("url" default, or "b64_json"), `stream`
    (default True; streaming delivers each image as soon as it is made)."""

    kind = "ark"
    provider_name: ClassVar[str] = "Volcengine Ark"
    default_base_url: ClassVar[str] = ARK_BASE_URLS["volcengine-cn-beijing"]
    # Names `provider_account add --base-url` accepts in place of a URL.
    base_urls: ClassVar[Mapping[str, str]] = ARK_BASE_URLS

    def model_id_of(self, model: ArkModel) -> str:
        return model.volcengine_id

    def call_for(self, request: ProviderRequest) -> HttpCall:
        body = self.request_body(request)
        return HttpCall("POST", f"{self.base_url}{GENERATIONS_PATH}", self._headers(), body)

    def reader(self, response: httpx.Response, call: HttpCall) -> ReplyReader:
        request_id = request_id_from(response)
        if response.headers.get("content-type", "").lower().startswith("text/event-stream"):
            return StreamReader(
                read_entry=partial(self.entry_item, request_id=request_id),
                read_error=partial(self._reported_error, request_id=request_id),
                request_id=request_id,
            )
        # Validation errors come back as plain JSON even when we asked for a stream.
        return WholeReply(partial(self._read_json, request_id=request_id))

    def error_from_reply(self, response: httpx.Response, call: HttpCall) -> ProviderError:
        return self._error_from_response(response)

    def check(self) -> str:
        return self.check_with_empty_request(
            f"{self.base_url}{GENERATIONS_PATH}", headers=self._headers()
        )

    # --- request -------------------------------------------------------------------------
    def request_body(self, request: ProviderRequest) -> dict[str, Any]:
        """The JSON body for `request` (raises `BadRequest` for a model Ark does not serve)."""
        model = ARK_MODELS.get(request.model)
        if model is None:
            raise BadRequest(
                message=f"{request.model} is not served by {self.provider_name}; "
                f"it serves {', '.join(ARK_MODELS)}"
            )
        if request.max_images > 1 and not model.group:
            raise BadRequest(message=f"{request.model} makes one image per request")
        if request.size in TIERS and request.size not in model.tiers:
            raise unserved_request(
                f"{self.provider_name} serves {request.model} at {', '.join(model.tiers)}, "
                f"not {request.size}"
            )
        body: dict[str, Any] = {
            "model": self._provider_model_id(request.model, model),
            "prompt": request.prompt,
            "size": _size_field(request),
        }
        if request.references:
            images = [_reference_field(reference) for reference in request.references]
            body["image"] = images[0] if len(images) == 1 else images
        if model.group:
            body["sequential_image_generation"] = "auto" if request.max_images > 1 else "disabled"
            body["sequential_image_generation_options"] = {"max_images": request.max_images}
        if model.seed_and_guidance:
            if request.seed is not None:
                body["seed"] = request.seed
            if request.guidance_scale is not None:
                body["guidance_scale"] = request.guidance_scale
        # A request asking for the mark, or an account that must always show it.
        body["watermark"] = bool(request.watermark or self.account.options.get("watermark", False))
        body["response_format"] = self._response_format()
        if model.output_format:
            body["output_format"] = request.output_format
        if model.group:
            body["stream"] = bool(request.stream or self.account.options.get("stream", True))
        return body

    def _provider_model_id(self, catalog_id: str, model: ArkModel) -> str:
        overrides = self.account.options.get("model_ids") or {}
        if not isinstance(overrides, Mapping):
            raise ValueError(f"ark option model_ids must map catalog ids to ids, got {overrides!r}")
        override = overrides.get(catalog_id)
        return str(override) if override else self.model_id_of(model)

    def _response_format(self) -> str:
        value = self.account.options.get("response_format", "url")
        if value not in RESPONSE_FORMATS:
            raise ValueError(f"ark option response_format must be url or b64_json, got {value!r}")
        return str(value)

    def _headers(self) -> dict[str, str]:
        return {
            **self.auth_headers(),
            "Content-Type": "application/json",
            # Ark's SDK sends one; it lets their support desk find our side of a call.
            "X-Client-Request-Id": f"seedream-studio-{uuid.uuid4().hex}",
        }

    # --- replies -------------------------------------------------------------------------
    def _error_from_response(self, response: httpx.Response) -> ProviderError:
        if response.status_code < 400:  # a redirect (never followed) or an odd success code
            return BadResponse(
                message=f"unexpected HTTP {response.status_code} from the provider",
                http_status=response.status_code,
                request_id=request_id_from(response),
            )
        payload = json_or_none(response.content)
        error = payload.get("error") if isinstance(payload, Mapping) else None
        if not isinstance(error, Mapping):
            error = {"message": f"HTTP {response.status_code}: {response.text[:200]}"}
        return ark_error(
            error,
            http_status=response.status_code,
            request_id=request_id_from(response),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            secrets=self.secrets,
        )

    def _reported_error(self, error: object, *, request_id: str | None) -> ProviderError:
        """An `error` object inside a 200 reply (JSON or stream): its code says what it is."""
        return ark_error(error, http_status=200, request_id=request_id, secrets=self.secrets)

    def _read_json(self, content: bytes, *, request_id: str | None) -> list[ReplyItem]:
        reply = json_or_none(content)
        if not isinstance(reply, Mapping):
            raise BadResponse(
                message="the provider's reply is not a JSON object: "
                f"{content[:120].decode('utf-8', 'replace')!r}",
                http_status=200,
                request_id=request_id,
            )
        data = reply.get("data")
        error = reply.get("error")
        if error and not data:
            raise self._reported_error(error, request_id=request_id)
        if not isinstance(data, list):
            raise BadResponse(
                message="the provider's reply has no data list", request_id=request_id
            )
        items = [
            self.entry_item(entry, index, request_id=request_id) for index, entry in enumerate(data)
        ]
        delivered = sum(not isinstance(item, ProviderImageFailure) for item in items)
        return [*items, usage_from(reply.get("usage"), delivered=delivered)]

    def entry_item(
        self, entry: object, index: int, *, request_id: str | None
    ) -> ProviderImage | ProviderImageFailure | ImageLink:
        """One `data[]` item or image event: a failure, the image with its bytes, or its link
        (the executor downloads it)."""
        return image_entry(
            entry,
            index,
            failure=lambda error, at: image_failure(error, at, secrets=self.secrets),
            request_id=request_id,
        )


@register_adapter
class BytePlusAdapter(ArkAdapter):
    """BytePlus ModelArk (international): the same API, model ids without "doubao-"."""

    kind = "byteplus"
    provider_name = "BytePlus ModelArk"
    default_base_url = ARK_BASE_URLS["byteplus-ap-southeast"]

    def model_id_of(self, model: ArkModel) -> str:
        return model.byteplus_id


# --- small readers -----------------------------------------------------------------------


def _size_field(request: ProviderRequest) -> str:
    if request.aspect_ratio and request.aspect_ratio != SQUARE:
        return f"{request.width}x{request.height}"
    return request.size


def _reference_field(reference: ReferenceInput) -> str:
    # Ark requires the format in lower case: data:image/png;base64,...
    return reference_wire_value(reference)
