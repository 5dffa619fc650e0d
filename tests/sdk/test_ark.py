"""Volcengine Ark and BytePlus ModelArk: their official SDKs against our Ark emulator.

The logical call without the seed: Seedream 4.0 takes none (providers.md §1.3, §9.5; our
emulator refuses it, and our adapter leaves it out for 4.0). Both SDKs are one code base with
two names (providers.md §1), so every test runs once per flavour.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.emulators.ark import ArkEmulator, without_nulls
from tests.emulators.base import RecordedRequest
from tests.sdk.support import (
    IMAGES,
    PROMPT,
    SEED,
    assert_same_call,
    logical_request,
    only_request,
    our_adapter,
    reference_data_uri,
)

GENERATIONS = "/api/v3/images/generations"


@dataclass(frozen=True)
class Flavour:
    name: str  # the emulator's flavour
    kind: str  # our adapter's kind
    package: str  # the SDK's runtime package
    model: str  # Seedream 4.0's id in this flavour


FLAVOURS = (
    Flavour("volcengine", "ark", "volcenginesdkarkruntime", "doubao-seedream-4-0-250828"),
    Flavour("byteplus", "byteplus", "byteplussdkarkruntime", "seedream-4-0-250828"),
)


@pytest.fixture(params=FLAVOURS, ids=lambda flavour: flavour.name)
def flavour(request: pytest.FixtureRequest) -> Flavour:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def emulator(flavour: Flavour) -> Iterator[ArkEmulator]:
    emulator = ArkEmulator(flavour=flavour.name)
    with emulator.serve():
        yield emulator


def sdk(flavour: Flavour) -> Any:
    return importlib.import_module(flavour.package)


def sdk_errors(flavour: Flavour) -> Any:
    return importlib.import_module(f"{flavour.package}._exceptions")


def sdk_generate(flavour: Flavour, emulator: ArkEmulator, **overrides: Any) -> Any:
    """The logical call through the official SDK (no retries: each fault is seen once)."""
    package = sdk(flavour)
    options = importlib.import_module(f"{flavour.package}.types.images.images")
    client = package.Ark(base_url=f"{emulator.base_url}/api/v3", api_key="test-key", max_retries=0)
    arguments: dict[str, Any] = {
        "model": flavour.model,
        "prompt": PROMPT,
        "image": reference_data_uri(),
        "size": "2K",
        "sequential_image_generation": "auto",
        "sequential_image_generation_options": options.SequentialImageGenerationOptions(
            max_images=IMAGES
        ),
        "watermark": False,
        "response_format": "url",
        "stream": False,
    }
    return client.images.generate(**(arguments | overrides))


def test_sdk_call_succeeds_with_the_image_urls(flavour: Flavour, emulator: ArkEmulator) -> None:
    reply = sdk_generate(flavour, emulator)

    assert len(reply.data) == IMAGES
    for image in reply.data:
        assert image.url.startswith(f"{emulator.base_url}/files/")
        assert httpx.get(image.url).status_code == 200
    assert reply.usage.generated_images == IMAGES


def test_sdk_stream_parses_every_event(flavour: Flavour, emulator: ArkEmulator) -> None:
    events = list(sdk_generate(flavour, emulator, stream=True))

    assert [event.type for event in events] == [
        "image_generation.partial_succeeded",
        "image_generation.partial_succeeded",
        "image_generation.completed",
    ]
    assert all(event.url.startswith(emulator.base_url) for event in events[:2])
    # The SDK's event union discriminates on `type`, typed `str` rather than a literal, so the
    # completed event comes out as the first class of the union, its `usage` a plain dict.
    usage = events[-1].usage
    assert (usage if isinstance(usage, dict) else usage.model_dump())["generated_images"] == IMAGES


def test_seed_on_seedream_4_is_refused_in_a_form_the_sdk_parses(
    flavour: Flavour, emulator: ArkEmulator
) -> None:
    with pytest.raises(sdk_errors(flavour).ArkBadRequestError) as raised:
        sdk_generate(flavour, emulator, seed=SEED)

    assert (raised.value.status_code, raised.value.code, raised.value.param) == (
        400,
        "InvalidParameter",
        "seed",
    )


@pytest.mark.parametrize(
    ("fault", "error_class", "status", "code"),
    [
        ("auth", "ArkAuthenticationError", 401, "AuthenticationError"),
        ("rate_limit", "ArkRateLimitError", 429, "RateLimitExceeded.EndpointRPMExceeded"),
        ("server_error", "ArkInternalServerError", 500, "InternalServiceError"),
        ("unavailable", "ArkInternalServerError", 503, "ServiceUnavailable"),
        ("refuse", "ArkBadRequestError", 400, "InputTextSensitiveContentDetected"),
    ],
)
def test_sdk_raises_its_own_error_for_each_fault(
    flavour: Flavour, emulator: ArkEmulator, fault: str, error_class: str, status: int, code: str
) -> None:
    emulator.faults.add(fault, seconds=3)

    with pytest.raises(getattr(sdk_errors(flavour), error_class)) as raised:
        sdk_generate(flavour, emulator)

    error = raised.value
    assert (error.status_code, error.code) == (status, code)
    assert error.response.headers["x-request-id"] in error.body["message"]
    if fault == "rate_limit":
        assert error.response.headers["retry-after"] == "3"


def test_sdk_reads_a_group_with_one_refused_image(flavour: Flavour, emulator: ArkEmulator) -> None:
    emulator.faults.add("partial")

    reply = sdk_generate(flavour, emulator)

    first, refused = reply.data
    assert first.url.startswith(emulator.base_url)
    assert refused.model_extra["error"]["code"] == "OutputImageSensitiveContentDetected"
    assert reply.usage.generated_images == 1


# --- golden: the SDK's request and ours ------------------------------------------------------


def recorded_pair(flavour: Flavour, emulator: ArkEmulator) -> tuple[RecordedRequest, ...]:
    sdk_generate(flavour, emulator)
    reference = only_request(emulator, method="POST", path_prefix=GENERATIONS)
    # Null is absent on Ark (the emulator's rule, tested there): compare what the SDK set.
    assert isinstance(reference.body, dict)
    reference = RecordedRequest(
        reference.method, reference.path, reference.headers, without_nulls(reference.body)
    )
    emulator.requests.clear()
    adapter = our_adapter(
        flavour.kind, emulator, base_url=f"{emulator.base_url}/api/v3", stream=False
    )
    list(adapter.generate(logical_request()))  # type: ignore[attr-defined]
    return reference, only_request(emulator, method="POST", path_prefix=GENERATIONS)


def test_our_request_is_the_sdks(flavour: Flavour, emulator: ArkEmulator) -> None:
    reference, ours = recorded_pair(flavour, emulator)

    assert_same_call(reference, ours, headers=("content-type",))
    # Both name the call for the provider's support desk; the values are per call.
    assert reference.headers["x-client-request-id"]
    assert ours.headers["x-client-request-id"]
