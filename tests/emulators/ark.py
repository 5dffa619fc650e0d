"""Volcengine Ark / BytePlus ModelArk image generation, emulated (providers.md §1, checklist §1.8).

`ArkEmulator(flavour="volcengine")` accepts "doubao-..." model ids, `flavour="byteplus"` the
bare ones; `endpoints={"ep-...": "<model id>"}` adds inference endpoint ids. Images are solid
colours rendered at the real output size, served from the emulator's own `/files/` route.

Deterministic where the real service is not: a group under `auto` returns exactly `max_images`
images, and a tier keyword resolves to the §1.4 table size for the first aspect ratio named in
the prompt (1:1 when none is).

Behaviour providers.md does not document (it says "not found" or is silent) is marked
ASSUMPTION where it is decided.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image

from tests.emulators.base import (
    Emulator,
    EmulatorRequest,
    EmulatorResponse,
    parse_size,
    render_test_image,
)

FLAVOURS = ("volcengine", "byteplus")
API_PATH = "/api/v3/images/generations"
MAX_REFERENCES = 14
MAX_TOTAL_IMAGES = 15  # references + generated images
SEED_RANGE = (-1, 2_147_483_647)
GUIDANCE_RANGE = (1.0, 10.0)
SIZE_INVALID = "The parameter `size` specified in the request is not valid: "
OUTPUT_REFUSED = "OutputImageSensitiveContentDetected"

ASPECTS = ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "21:9")
TIER_TABLE = {  # providers.md §1.4, columns in ASPECTS order
    "1K": "1024x1024 1152x864 864x1152 1280x720 720x1280 1248x832 832x1248 1512x648",
    "2K": "2048x2048 2304x1728 1728x2304 2848x1600 1600x2848 2496x1664 1664x2496 3136x1344",
    "3K": "3072x3072 3456x2592 2592x3456 4096x2304 2304x4096 3744x2496 2496x3744 4704x2016",
    "4K": "4096x4096 4704x3520 3520x4704 5504x3040 3040x5504 4992x3328 3328x4992 6240x2656",
}
AUTH_MESSAGE = "the API key or AK/SK in the request is missing or invalid"
# Whole-request faults as (status, code, message). ASSUMPTION: the 500 and 503 bodies;
# providers.md shows none (500 `InternalServiceError` is from third-party fixtures).
FAULT_ERRORS = {
    "auth": (401, "AuthenticationError", AUTH_MESSAGE),
    "rate_limit": (429, "RateLimitExceeded.EndpointRPMExceeded", "RPM limit of the endpoint hit"),
    "server_error": (500, "InternalServiceError", "The service met an internal error"),
    "unavailable": (503, "ServiceUnavailable", "The service is temporarily unavailable"),
    "refuse": (400, "InputTextSensitiveContentDetected", "The input text may be sensitive"),
}
_DATA_URI = re.compile(r"data:image/(?P<fmt>[A-Za-z]+);base64,(?P<data>.+)", re.DOTALL)


@dataclass(frozen=True, kw_only=True)
class ModelRules:
    """One model's request rules (providers.md §1.3, §1.4); WxH aspect is always 1/16..16."""

    default_size: str
    tiers: tuple[str, ...] = ()
    pixels: tuple[int, int] = (0, 0)  # WxH product range; (0, 0) = no WxH at all
    group: bool = False  # sequential generation and streaming
    seed_and_guidance: bool = False
    output_format: bool = False
    max_references: int = MAX_REFERENCES

    @property
    def edits_one_image(self) -> bool:
        """SeedEdit: exactly one reference, no more and no fewer."""
        return self.tiers == ("adaptive",)


_4K_PIXELS = 4096 * 4096
_LITE = ModelRules(
    default_size="2048x2048",
    tiers=("2K", "3K"),
    pixels=(3_686_400, 10_404_496),
    group=True,
    output_format=True,
)
# Keyed by the BytePlus spelling; Volcengine's is "doubao-" + it. ASSUMPTION: 3.0-t2i has no
# documented aspect range, so the 4.x one applies.
RULES_BY_MODEL_ID: Mapping[str, ModelRules] = {
    "seedream-5-0-260128": _LITE,
    "seedream-5-0-lite-260128": _LITE,
    "seedream-4-5-251128": ModelRules(
        default_size="2048x2048", tiers=("2K", "4K"), pixels=(3_686_400, _4K_PIXELS), group=True
    ),
    "seedream-4-0-250828": ModelRules(
        default_size="2048x2048", tiers=("1K", "2K", "4K"), pixels=(921_600, _4K_PIXELS), group=True
    ),
    "seedream-3-0-t2i-250415": ModelRules(
        default_size="1024x1024",
        pixels=(512 * 512, 2048 * 2048),
        seed_and_guidance=True,
        max_references=0,
    ),
    "seededit-3-0-i2i-250628": ModelRules(
        default_size="adaptive", tiers=("adaptive",), seed_and_guidance=True, max_references=1
    ),
}


class Rejected(Exception):
    """A validation failure, answered as Ark's 400 envelope."""

    def __init__(self, message: str, *, param: str = "", code: str = "InvalidParameter") -> None:
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


@dataclass
class Plan:
    """What a valid request will produce."""

    model: str
    sizes: list[tuple[int, int]]
    fmt: str
    response_format: str
    stream: bool


class ArkEmulator(Emulator):
    name = "ark"

    def __init__(
        self,
        *,
        flavour: str = "volcengine",
        endpoints: Mapping[str, str] | None = None,
        api_key: str = "test-key",
        latency_s: float = 0.0,
    ) -> None:
        if flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {FLAVOURS}, got {flavour!r}")
        super().__init__(api_key=api_key, latency_s=latency_s)
        self.flavour = flavour
        prefix = "doubao-" if flavour == "volcengine" else ""
        self.models = {prefix + model_id: rules for model_id, rules in RULES_BY_MODEL_ID.items()}
        self.endpoints = dict(endpoints or {})
        self.sent_events: list[str] = []  # stream events in the order they left, for tests
        self.route("POST", API_PATH, self._generate)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v3"

    # --- the endpoint --------------------------------------------------------------------
    def _generate(self, request: EmulatorRequest) -> EmulatorResponse:
        request_id = secrets.token_hex(12)
        if request.header("authorization") != f"Bearer {self.api_key}":
            return error_reply(401, "AuthenticationError", AUTH_MESSAGE, request_id)
        try:
            body = request.json
        except ValueError:
            body = None
        if not isinstance(body, dict):
            # ASSUMPTION: Ark's answer to a body that is not a JSON object.
            return error_reply(400, "InvalidParameter", "the request body is not JSON", request_id)
        body = without_nulls(body)
        prompt = body["prompt"] if isinstance(body.get("prompt"), str) else ""
        fault = self.fault_for(request, prompt)
        if fault is not None and fault.kind in FAULT_ERRORS:
            status, code, message = FAULT_ERRORS[fault.kind]
            # ASSUMPTION: providers.md found no Retry-After on Ark; sending one exercises it.
            retry = {"Retry-After": f"{fault.seconds or 2:g}"} if status == 429 else {}
            return error_reply(status, code, message, request_id, headers=retry)
        if fault is not None and fault.kind == "malformed":
            # A gateway page under a JSON content type: readers must not trust the header.
            page = b"<html>upstream error</html>"
            return EmulatorResponse(200, page, {"Content-Type": "application/json"})
        model_id = body.get("model")
        if not isinstance(model_id, str) or not model_id:
            return error_reply(400, "MissingParameter", "`model` is required", request_id, "model")
        rules = self.models.get(self.endpoints.get(model_id, model_id))
        if rules is None:
            message = f"The model or endpoint {model_id} does not exist or you do not have access"
            return error_reply(404, "InvalidEndpointOrModel.NotFound", message, request_id)
        try:
            plan = self._plan(body, rules, prompt)
        except Rejected as rejected:
            return error_reply(400, rejected.code, rejected.message, request_id, rejected.param)
        partial = fault is not None and fault.kind == "partial"
        expired = fault is not None and fault.kind == "expired_url"
        entries = self._entries(plan, partial=partial, expired=expired)
        if plan.stream:
            return EmulatorResponse(
                200,
                self._events(plan, entries),
                {"Content-Type": "text/event-stream", "X-Request-Id": request_id},
            )
        data = list(entries)
        reply = {
            "model": plan.model,
            "created": int(time.time()),
            "data": data,
            "usage": usage_of(data),
        }
        return EmulatorResponse.json(200, reply, {"X-Request-Id": request_id})

    # --- validation ----------------------------------------------------------------------
    def _plan(self, body: dict[str, Any], rules: ModelRules, prompt: str) -> Plan:
        if not prompt.strip():
            raise Rejected("`prompt` is required", param="prompt", code="MissingParameter")
        unsupported = ["n", "quality"]  # Ark has neither (providers.md §1.3)
        if not rules.seed_and_guidance:
            unsupported += ["seed", "guidance_scale"]
        if not rules.group:
            # ASSUMPTION: these are rejected, not ignored, on 3.0-t2i and SeedEdit.
            unsupported += ["sequential_image_generation", "sequential_image_generation_options"]
            if body.get("stream"):
                unsupported.append("stream")
        if not rules.output_format:
            unsupported.append("output_format")  # ASSUMPTION: rejected rather than ignored
        for param in unsupported:
            if param in body:
                raise Rejected(f"{param} is not supported by the current model", param=param)
        _check_number(body, "seed", SEED_RANGE, integer=True)
        _check_number(body, "guidance_scale", GUIDANCE_RANGE, integer=False)
        references = _references(body.get("image"), rules)
        count = _image_count(body, rules, references)
        size = body.get("size", rules.default_size)
        dimensions = _dimensions(size, rules, prompt, references)
        response_format = _choice(body, "response_format", ("url", "b64_json"), "url")
        fmt = _choice(body, "output_format", ("jpeg", "png"), "jpeg")
        if "watermark" in body and not isinstance(body["watermark"], bool):
            raise Rejected("watermark must be a boolean", param="watermark")
        return Plan(
            model=str(body["model"]),
            sizes=[dimensions] * count,
            fmt=fmt,
            response_format=response_format,
            stream=body.get("stream") is True,
        )

    # --- output --------------------------------------------------------------------------
    def _entries(self, plan: Plan, *, partial: bool, expired: bool) -> Iterator[dict[str, Any]]:
        """One `data[]` item per image, rendered lazily so a stream sends each when ready."""
        for index, (width, height) in enumerate(plan.sizes):
            if partial and index == len(plan.sizes) - 1:
                message = "The output image may contain sensitive information"
                yield {"error": {"code": OUTPUT_REFUSED, "message": message}}
                continue
            entry: dict[str, Any] = {"size": f"{width}x{height}"}
            if plan.response_format == "b64_json":
                content = render_test_image(width=width, height=height, fmt=plan.fmt, seed=index)
                entry["b64_json"] = base64.b64encode(content).decode("ascii")
            elif expired:
                # A link whose file is already gone, as after Ark's 24 h lifetime.
                entry["url"] = f"{self.base_url}/files/{secrets.token_hex(8)}.{plan.fmt}"
            else:
                entry["url"] = self.store_image(
                    width=width, height=height, fmt=plan.fmt, seed=index + 1
                )
            yield entry

    def _events(self, plan: Plan, entries: Iterator[dict[str, Any]]) -> Iterator[bytes]:
        """SSE: one event per image as soon as it is rendered, then the usage, then [DONE]."""
        self.sent_events.clear()
        done: list[dict[str, Any]] = []
        for index, entry in enumerate(entries):
            done.append(entry)
            kind = "partial_failed" if "error" in entry else "partial_succeeded"
            event = {"type": f"image_generation.{kind}", "model": plan.model, "image_index": index}
            event.update(entry)
            if "size" in entry:
                # One official example prints a multiplication sign; parsers must cope.
                event["size"] = str(entry["size"]).replace("x", "×")  # noqa: RUF001
            yield self._event(event)
        completed = {"type": "image_generation.completed", "model": plan.model}
        yield self._event({**completed, "usage": usage_of(done)})
        self.sent_events.append("[DONE]")
        yield b"data: [DONE]\n\n"

    def _event(self, payload: dict[str, Any]) -> bytes:
        payload = {**payload, "created": int(time.time())}
        self.sent_events.append(str(payload["type"]))
        # Real clients parse one-line JSON per data line (providers.md §1.6).
        text = json.dumps(payload, ensure_ascii=False)
        return f"event: {payload['type']}\ndata: {text}\n\n".encode()


# --- helpers -----------------------------------------------------------------------------


def error_reply(
    status: int,
    code: str,
    message: str,
    request_id: str,
    param: str = "",
    *,
    headers: dict[str, str] | None = None,
) -> EmulatorResponse:
    """Ark's error envelope; messages end with the request id, as Ark's do."""
    error_type = {400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 429: "TooManyRequests"}
    payload = {
        "error": {
            "code": code,
            "message": f"{message}. Request id: {request_id}",
            "param": param,
            "type": error_type.get(status, "InternalServerError"),  # ASSUMPTION for 5xx
        }
    }
    return EmulatorResponse.json(status, payload, {"X-Request-Id": request_id, **(headers or {})})


def without_nulls(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with every null field dropped, in nested objects too: Ark reads null as absent.

    The official SDKs (volcengine, byteplus) send each parameter the caller left unset as JSON
    null (`"seed": null`, `"sequential_image_generation_options": {"max_images": null}`), and
    the real API accepts those requests; checking `param in body` on the raw body would refuse
    every one of them.
    """
    return {
        name: without_nulls(value) if isinstance(value, dict) else value
        for name, value in body.items()
        if value is not None
    }


def usage_of(entries: list[dict[str, Any]]) -> dict[str, int]:
    """Ark's usage: successful images only; output_tokens = round(sum(w*h) / 256)."""
    sizes = [parse_size(entry.get("size", "")) for entry in entries if "error" not in entry]
    delivered = [size for size in sizes if size is not None]
    tokens = round(sum(width * height for width, height in delivered) / 256)
    return {"generated_images": len(delivered), "output_tokens": tokens, "total_tokens": tokens}


def _choice(body: dict[str, Any], param: str, allowed: tuple[str, ...], default: str) -> str:
    value = body.get(param, default)
    if value not in allowed:
        raise Rejected(f"{param} must be one of: {', '.join(allowed)}", param=param)
    return str(value)


def _check_number(
    body: dict[str, Any], param: str, bounds: tuple[float, float], *, integer: bool
) -> None:
    if param not in body:
        return
    value = body[param]
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise Rejected(f"{param} must be a number", param=param)
    if not bounds[0] <= value <= bounds[1]:
        raise Rejected(f"{param} must be between {bounds[0]:g} and {bounds[1]:g}", param=param)


def _references(image: object, rules: ModelRules) -> list[tuple[int, int] | None]:
    """Each reference's pixel size when it is a data URI (None for a URL)."""
    items = [] if image is None else [image] if isinstance(image, str) else image
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise Rejected("image must be a string or a list of strings", param="image")
    if items and rules.max_references == 0:
        raise Rejected("image is not supported by the current model", param="image")
    if rules.edits_one_image and len(items) != 1:
        code = "InvalidParameter" if items else "MissingParameter"
        raise Rejected("the current model takes exactly one image", param="image", code=code)
    if len(items) > rules.max_references:
        message = f"number of reference images cannot exceed {rules.max_references}"
        raise Rejected(message, param="image")
    return [_reference_size(item) for item in items]


def _reference_size(item: str) -> tuple[int, int] | None:
    if item.startswith(("https://", "http://")):
        return None
    found = _DATA_URI.fullmatch(item)
    # ASSUMPTION: the wording; the rule (lower-case format) is documented.
    if found is None or found["fmt"] != found["fmt"].lower():
        raise Rejected(
            "image must be an http(s) URL or data:image/<format in lower case>;base64,<data>",
            param="image",
        )
    try:
        content = base64.b64decode(found["data"], validate=True)
        with Image.open(io.BytesIO(content)) as picture:
            return picture.size
    except (binascii.Error, OSError, ValueError) as exc:
        raise Rejected("image is not a readable base64 image", param="image") from exc


def _image_count(
    body: dict[str, Any], rules: ModelRules, references: list[tuple[int, int] | None]
) -> int:
    mode = _choice(body, "sequential_image_generation", ("auto", "disabled"), "disabled")
    if not rules.group or mode == "disabled":
        return 1
    options = body.get("sequential_image_generation_options") or {}
    if not isinstance(options, dict):
        raise Rejected("must be an object", param="sequential_image_generation_options")
    # ASSUMPTION: with no max_images the documented default 15 shrinks to fit the references.
    max_images = options.get("max_images", MAX_TOTAL_IMAGES - len(references))
    param = "sequential_image_generation_options.max_images"
    if isinstance(max_images, bool) or not isinstance(max_images, int):
        raise Rejected("max_images must be an integer", param=param)
    if not 1 <= max_images <= MAX_TOTAL_IMAGES:
        raise Rejected(f"max_images must be between 1 and {MAX_TOTAL_IMAGES}", param=param)
    if len(references) + max_images > MAX_TOTAL_IMAGES:
        # ASSUMPTION: the wording; the rule (references + images <= 15) is documented.
        raise Rejected(
            f"the number of reference images plus max_images cannot exceed {MAX_TOTAL_IMAGES}",
            param=param,
        )
    return max_images


def _dimensions(
    size: object, rules: ModelRules, prompt: str, references: list[tuple[int, int] | None]
) -> tuple[int, int]:
    text = size.strip() if isinstance(size, str) else ""
    keyword = "adaptive" if text.lower() == "adaptive" else text.upper()
    if keyword in rules.tiers:
        if keyword == "adaptive":
            return _adaptive(references[0] if references else None)
        aspect = next((ratio for ratio in ASPECTS if ratio in prompt), "1:1")
        return parse_size(TIER_TABLE[keyword].split()[ASPECTS.index(aspect)]) or (0, 0)
    low_pixels, high_pixels = rules.pixels
    parsed = parse_size(text) if high_pixels else None
    if parsed is None:
        forms = ["'WIDTHxHEIGHT'"] if high_pixels else []
        forms += [f"'{tier.lower()}'" for tier in rules.tiers]
        raise Rejected(SIZE_INVALID + f"size must be one of {', '.join(forms)}", param="size")
    width, height = parsed
    problem = ""
    if width <= 0 or height <= 0:
        problem = "invalid width"
    elif width * height < low_pixels:
        problem = f"image size must be at least {low_pixels} pixels"
    elif width * height > high_pixels:
        problem = f"image size must be at most {high_pixels} pixels"
    elif not 1 / 16 <= width / height <= 16:
        problem = "aspect ratio must be between 1/16 and 16"
    if problem:
        raise Rejected(SIZE_INVALID + problem, param="size")
    return width, height


def _adaptive(reference: tuple[int, int] | None) -> tuple[int, int]:
    """ASSUMPTION: SeedEdit's presets are not all listed; keep the input's shape at about one
    megapixel, its ratio clamped to [1/3, 3], sides multiples of 16 (1024x1024 for a URL)."""
    if reference is None:
        return (1024, 1024)
    ratio = min(3.0, max(1 / 3, reference[0] / reference[1]))
    width = round((1024 * 1024 * ratio) ** 0.5 / 16) * 16
    return width, round(width / ratio / 16) * 16
