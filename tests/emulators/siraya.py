"""Siraya's Seedream endpoint as a fake server (providers.md §6; Siraya's page, shared seed 004).

`POST /v1/images/generations` validates the way Siraya documents it: the three model names,
`size` required and either a shorthand the model supports or a WxH from Siraya's table, 4.5 and
5.0 lite refusing anything under 3,686,400 pixels with Siraya's own message, `image` a single
reference URL (a data URI is refused: the page documents a URL), fetched before generating
when the emulator has a `reference_transport`. It answers `{"created", "data": [{"b64_json"}],
"usage": {"total_tokens"}}` (one image) or, with `response_format: "url"`, links to images it
serves itself.

Every ASSUMPTION below marks behaviour §6 calls "not found".

Faults (see base.FAULT_KINDS): latency, drop and hang come from the base; rate_limit is a 429
with Retry-After; server_error a 500; unavailable a gateway's plain-text 503; malformed a 200
that is not JSON; auth a 401; refuse a content-filter 400; expired_url answers links that are
already gone (with `b64_json` there are no links, so it changes nothing). partial does not
apply: Siraya makes one image per call, so there is no group whose last image could fail; it is
ignored. `out_of_balance=True` answers 403 for an empty account (no base fault kind for it).

The helpers at the bottom (`bearer_token`, `is_image_reference`, `retry_after_headers`,
`gateway_unavailable`, `malformed_reply`) serve the Ace Data Cloud emulator too; they would sit
well in base.py, which this work leaves unchanged.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any

from tests.emulators.base import (
    Emulator,
    EmulatorRequest,
    EmulatorResponse,
    Fault,
    is_url,
    parse_size,
    render_test_image,
)

# Written out from Siraya's page again, not imported from the adapter: the emulator is the
# independent witness of what Siraya accepts.
_ASPECTS = ("1:1", "3:4", "4:3", "16:9", "9:16", "3:2", "2:3", "21:9")
_TABLE_ROWS = {
    "1K": "1024x1024 864x1152 1152x864 1312x736 736x1312 1248x832 832x1248 1568x672",
    "2K": "2048x2048 1728x2304 2304x1728 2848x1600 1600x2848 2496x1664 1664x2496 3136x1344",
    "4K": "4096x4096 3520x4704 4704x3520 5504x3040 3040x5504 4992x3328 3328x4992 6240x2656",
}
TABLE_SIZES = frozenset(size for row in _TABLE_ROWS.values() for size in row.split())
MODEL_SHORTHANDS = {
    "ByteDance-Seedream-4.0": ("1K", "2K", "4K"),
    "ByteDance-Seedream-4.5": ("2K", "4K"),
    "Dola-Seedream-5.0-lite": ("2K", "3K", "4K"),
}
MIN_PIXELS = {"ByteDance-Seedream-4.5": 3_686_400, "Dola-Seedream-5.0-lite": 3_686_400}
# "Without a ratio in the prompt, defaults to a 1:1 square." ASSUMPTION: 3K is 3072x3072 (the
# 3K table was not in the stored copy).
SHORTHAND_SQUARES = {"1K": 1024, "2K": 2048, "3K": 3072, "4K": 4096}
KNOWN_FIELDS = frozenset({"model", "prompt", "size", "image", "watermark", "response_format"})
REFUSAL_MESSAGE = "The request failed because the input text may contain sensitive information."


class SirayaEmulator(Emulator):
    name = "siraya"

    def __init__(
        self, *, api_key: str = "test-key", latency_s: float = 0.0, out_of_balance: bool = False
    ) -> None:
        super().__init__(api_key=api_key, latency_s=latency_s)
        self.out_of_balance = out_of_balance
        self._made = 0  # varies the colour of each image, so tests can tell them apart
        self.route("POST", r"/v1/images/generations", self._generations)

    def _generations(self, request: EmulatorRequest) -> EmulatorResponse:
        if bearer_token(request) != self.api_key:
            return _error(401, "invalid_api_key", "Incorrect API key provided.", "auth_error")
        try:
            body = request.json
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "invalid_json", "The request body must be a JSON object.")
        prompt = body.get("prompt")
        fault = self.fault_for(request, prompt if isinstance(prompt, str) else "")
        early = _fault_reply(fault)
        if early is not None:
            return early
        if self.out_of_balance:
            # ASSUMPTION: OpenAI-style relays answer an empty account with 403 and a quota code.
            return _error(403, "insufficient_quota", "Insufficient balance. Please top up.")
        problem = _validation_problem(body)
        if problem is not None:
            return problem
        unfetchable = self.fetch_reference(body["image"]) if "image" in body else ""
        if unfetchable:
            # ASSUMPTION: a link Siraya cannot download is a 400 naming the image.
            return _error(400, "invalid_image", unfetchable)
        if fault is not None and fault.kind == "refuse":
            # ASSUMPTION: Siraya relays Ark's refusal code in the OpenAI envelope.
            return _error(400, "InputTextSensitiveContentDetected", REFUSAL_MESSAGE, "BadRequest")
        width, height = _dimensions(body["size"])
        self._made += 1
        if body.get("response_format", "b64_json") == "url":
            # ASSUMPTION: url items look like OpenAI's `{"url": ...}`.
            item = {"url": self.store_image(width=width, height=height, seed=self._made)}
            if fault is not None and fault.kind == "expired_url":
                self.expire_files()
        else:
            content = render_test_image(width=width, height=height, seed=self._made)
            item = {"b64_json": base64.b64encode(content).decode("ascii")}
        # ASSUMPTION: tokens = pixels / 1024, which matches the page's one example (2048x2048,
        # 4096 tokens).
        usage = {"total_tokens": round(width * height / 1024)}
        return EmulatorResponse.json(
            200, {"created": int(time.time()), "data": [item], "usage": usage}
        )


def _validation_problem(body: dict[str, Any]) -> EmulatorResponse | None:
    unknown = sorted(set(body) - KNOWN_FIELDS)
    if unknown:
        # ASSUMPTION: undocumented fields (n, seed, ...) are rejected, not ignored; the stricter
        # reading catches an adapter sending what Siraya does not take.
        return _error(400, "unknown_parameter", f"Unrecognized request argument: {unknown[0]}")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return _error(400, "missing_parameter", "model is required.")
    if model not in MODEL_SHORTHANDS:
        # ASSUMPTION: an unknown model is a 404 `model_not_found`, as OpenAI answers.
        return _error(404, "model_not_found", f"The model `{model}` does not exist.")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return _error(400, "missing_parameter", "prompt is required.")
    size = body.get("size")
    if not isinstance(size, str) or not size:
        return _error(400, "missing_parameter", "size is required.")
    problem = _size_problem(model, size)
    if problem:
        return _error(400, "invalid_size", problem)
    image = body.get("image")
    # The page types `image` as one string, "Reference image URL": a list is what Ark takes,
    # and a data URI is not documented. ASSUMPTION: Siraya refuses one, with this message.
    if image is not None and not is_url(image):
        return _error(400, "invalid_image", "image must be a single image URL.")
    if not isinstance(body.get("watermark", False), bool):
        return _error(400, "invalid_parameter", "watermark must be a boolean.")
    if body.get("response_format", "b64_json") not in ("url", "b64_json"):
        return _error(400, "invalid_parameter", "response_format must be url or b64_json.")
    return None


def _size_problem(model: str, size: str) -> str:
    if size in SHORTHAND_SQUARES:
        if size not in MODEL_SHORTHANDS[model]:
            return f"size {size} is not supported by {model}."
        pixels = SHORTHAND_SQUARES[size] ** 2
    else:
        dimensions = parse_size(size)
        if dimensions is None:
            return "size must be a shorthand (1K, 2K, 4K) or WIDTHxHEIGHT."
        pixels = dimensions[0] * dimensions[1]
    if pixels < MIN_PIXELS.get(model, 0):
        # Siraya's own words for the floor (seed 004).
        return f"image size must be at least {MIN_PIXELS[model]} pixels"
    if size not in SHORTHAND_SQUARES and size not in TABLE_SIZES:
        # ASSUMPTION: the wording; the rule ("only the values in the table") is documented.
        return f"size {size} is not supported; use one of the sizes in the size table."
    return ""


def _dimensions(size: str) -> tuple[int, int]:
    if size in SHORTHAND_SQUARES:
        return SHORTHAND_SQUARES[size], SHORTHAND_SQUARES[size]
    dimensions = parse_size(size)
    assert dimensions is not None  # validated already
    return dimensions


def _fault_reply(fault: Fault | None) -> EmulatorResponse | None:
    """The answer for a fault that replaces the whole reply; None for the rest."""
    if fault is None:
        return None
    if fault.kind == "rate_limit":
        return _error(
            429,
            "rate_limit_exceeded",
            "Rate limit reached; please retry later.",
            "rate_limit_error",
            headers=retry_after_headers(fault),
        )
    if fault.kind == "server_error":
        return _error(500, "internal_error", "The server had an error processing your request.")
    if fault.kind == "unavailable":
        return gateway_unavailable()
    if fault.kind == "malformed":
        return malformed_reply()
    if fault.kind == "auth":
        return _error(401, "invalid_api_key", "Incorrect API key provided.", "auth_error")
    return None


def _error(
    status: int,
    code: str,
    message: str,
    error_type: str = "invalid_request_error",
    *,
    headers: dict[str, str] | None = None,
) -> EmulatorResponse:
    # ASSUMPTION: the OpenAI envelope (§6 shows no error body; §8 is the convention).
    payload = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return EmulatorResponse.json(status, payload, headers)


# --- shared with the Ace Data Cloud emulator (see the module docstring) -------------------

_DATA_URI = re.compile(r"^data:image/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=]+$")


def bearer_token(request: EmulatorRequest) -> str:
    scheme, _, token = request.header("authorization").partition(" ")
    return token if scheme.lower() == "bearer" else ""


def is_image_reference(value: object) -> bool:
    """An http(s) URL or a `data:image/<fmt>;base64,` URI with a lower-case format (as Ark)."""
    if not isinstance(value, str):
        return False
    return value.startswith(("https://", "http://")) or bool(_DATA_URI.match(value))


def retry_after_headers(fault: Fault) -> dict[str, str]:
    return {"Retry-After": f"{fault.seconds:g}" if fault.seconds else "1"}


def gateway_unavailable() -> EmulatorResponse:
    """A 503 from the load balancer in front: plain text, not the provider's envelope."""
    return EmulatorResponse(503, b"Service Temporarily Unavailable", {"Content-Type": "text/plain"})


def malformed_reply() -> EmulatorResponse:
    """A 200 whose body was cut off mid-JSON."""
    return EmulatorResponse(200, b'{"data": [{"b64_js', {"Content-Type": "application/json"})
