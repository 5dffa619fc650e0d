"""Siraya: the OpenAI SDK (`openai`; Siraya speaks the OpenAI images API) against our Siraya
emulator.

Siraya's page (seed 004) documents one image per call, `image` as a single reference *URL*, no
seed: the logical call is cut to one image and no seed, and its reference is a link the
emulator serves. The Seedream-specific fields (`image`, `watermark`) go through `extra_body`,
as with any OpenAI-compatible relay.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.emulators.siraya import REFUSAL_MESSAGE, SirayaEmulator
from tests.sdk.support import (
    PROMPT,
    REFERENCE_LINK,
    Difference,
    assert_same_call,
    logical_request,
    only_request,
    our_adapter,
)

GENERATIONS = "/v1/images/generations"
MODEL = "ByteDance-Seedream-4.0"


@pytest.fixture
def emulator() -> Iterator[SirayaEmulator]:
    emulator = SirayaEmulator()
    with emulator.serve():
        yield emulator


def reference_url(emulator: SirayaEmulator) -> str:
    return emulator.store_image(width=64, height=64, fmt="png")


def sdk_generate(emulator: SirayaEmulator, **overrides: Any) -> Any:
    client = openai.OpenAI(base_url=f"{emulator.base_url}/v1", api_key="test-key", max_retries=0)
    arguments: dict[str, Any] = {
        "model": MODEL,
        "prompt": PROMPT,
        "size": "2K",
        "response_format": "b64_json",
        "extra_body": {"image": reference_url(emulator), "watermark": False},
    }
    return client.images.generate(**(arguments | overrides))


def test_sdk_call_succeeds_with_the_image(emulator: SirayaEmulator) -> None:
    reply = sdk_generate(emulator)

    (image,) = reply.data
    assert base64.b64decode(image.b64_json).startswith(b"\xff\xd8")  # a JPEG
    assert reply.usage.total_tokens == 4096


def test_sdk_reads_url_replies(emulator: SirayaEmulator) -> None:
    reply = sdk_generate(emulator, response_format="url")

    assert reply.data[0].url.startswith(f"{emulator.base_url}/files/")


@pytest.mark.parametrize(
    ("fault", "error_class", "status", "code"),
    [
        ("auth", openai.AuthenticationError, 401, "invalid_api_key"),
        ("rate_limit", openai.RateLimitError, 429, "rate_limit_exceeded"),
        ("server_error", openai.InternalServerError, 500, "internal_error"),
        ("unavailable", openai.InternalServerError, 503, None),
        ("refuse", openai.BadRequestError, 400, "InputTextSensitiveContentDetected"),
    ],
)
def test_sdk_raises_its_own_error_for_each_fault(
    emulator: SirayaEmulator,
    fault: str,
    error_class: type[openai.APIStatusError],
    status: int,
    code: str | None,
) -> None:
    emulator.faults.add(fault, seconds=3)

    with pytest.raises(error_class) as raised:
        sdk_generate(emulator)

    assert (raised.value.status_code, raised.value.code) == (status, code)
    if fault == "rate_limit":
        assert raised.value.response.headers["retry-after"] == "3"
    if fault == "refuse":
        assert REFUSAL_MESSAGE in raised.value.message


# --- golden: the SDK's request and ours ------------------------------------------------------


def test_our_request_is_the_sdks(emulator: SirayaEmulator) -> None:
    # The same reference link on both sides: ours is the signed link to our stored copy.
    sdk_generate(emulator, extra_body={"image": REFERENCE_LINK, "watermark": False})
    reference = only_request(emulator, method="POST", path_prefix=GENERATIONS)
    emulator.requests.clear()
    adapter = our_adapter("siraya", emulator, base_url=emulator.base_url)

    list(adapter.generate(logical_request(max_images=1, seed=None)))  # type: ignore[attr-defined]

    ours = only_request(emulator, method="POST", path_prefix=GENERATIONS)
    assert_same_call(
        reference,
        ours,
        headers=("content-type",),
        known=(
            Difference(
                "size",
                "deliberate: our Siraya adapter sends the table's WxH for a tier (2048x2048), "
                "where the page also takes the shorthand 2K (seed 004, Size Reference)",
            ),
        ),
    )
