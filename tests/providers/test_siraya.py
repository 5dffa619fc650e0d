"""The Siraya adapter against its emulator: requests, size mapping, refusals, replies, faults."""

import base64
import io
from dataclasses import replace
from functools import partial
from typing import Any

import httpx
import pytest
from PIL import Image

from generations.providers import (
    AccountConfig,
    AuthError,
    BadRequest,
    ProviderImage,
    ProviderUsage,
    QuotaError,
    ReferenceInput,
    build_adapter,
)
from generations.providers.siraya import SirayaAdapter
from tests.emulators.base import render_test_image
from tests.emulators.siraya import SirayaEmulator
from tests.providers import support
from tests.providers.support import PROMPT, StoredReferences

PNG_REFERENCE = render_test_image(width=64, height=48, fmt="png", seed=3)
PNG_DATA_URI = "data:image/png;base64," + base64.b64encode(PNG_REFERENCE).decode()


@pytest.fixture
def emulator() -> SirayaEmulator:
    return SirayaEmulator()


make_adapter = partial(support.make_adapter, SirayaAdapter)
refused = partial(support.refusal_before_any_call, SirayaAdapter)
make_request = partial(support.make_request, model="seedream-4.5")
run = partial(support.generate_on, SirayaAdapter)
failure_of = partial(support.failure_on, SirayaAdapter)


# --- happy paths -------------------------------------------------------------------------


def test_text_to_image_returns_the_decoded_image_then_usage(emulator: SirayaEmulator) -> None:
    image, usage = run(emulator, make_request())

    assert isinstance(image, ProviderImage)
    assert image.index == 0
    assert image.url is None
    assert (image.width, image.height, image.mime) == (2048, 2048, "image/jpeg")
    assert image.content is not None
    assert Image.open(io.BytesIO(image.content)).size == (2048, 2048)
    assert usage == ProviderUsage(
        generated_images=1,
        raw={
            "provider": "siraya",
            "model": "ByteDance-Seedream-4.5",
            "usage": {"total_tokens": 4096},
        },
    )
    (call,) = emulator.requests
    assert (call.method, call.path) == ("POST", "/v1/images/generations")
    assert call.headers["authorization"] == "Bearer test-key"


def test_image_to_image_sends_its_one_reference_as_our_signed_link(
    emulator: SirayaEmulator,
) -> None:
    # Siraya's page: "image string — Reference image URL" (seed 004); the emulator fetches it.
    storage = StoredReferences()
    emulator.reference_transport = storage.transport()
    reference = storage.reference(PNG_REFERENCE, mime="image/PNG")

    outcomes = run(emulator, make_request(references=(reference,)))

    assert isinstance(outcomes[0], ProviderImage)
    assert emulator.requests[0].body["image"] == reference.link
    assert emulator.fetched_references == [(reference.link, PNG_REFERENCE)]


def test_the_emulator_refuses_a_data_uri_reference_as_siraya_documents_urls_only(
    emulator: SirayaEmulator,
) -> None:
    body = {"model": "ByteDance-Seedream-4.0", "prompt": PROMPT, "size": "2048x2048"}
    with httpx.Client(transport=emulator.transport()) as client:
        response = client.post(
            f"{emulator.base_url}/v1/images/generations",
            json={**body, "image": PNG_DATA_URI},
            headers={"Authorization": "Bearer test-key"},
        )

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "image must be a single image URL."


def test_a_stored_reference_without_a_link_is_refused_before_any_call(
    emulator: SirayaEmulator,
) -> None:
    reference = ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png")

    error = failure_of(emulator, make_request(references=(reference,)))

    assert isinstance(error, BadRequest)
    assert "only as links" in error.message
    assert error.failover_safe
    assert emulator.requests == []


def test_a_link_siraya_cannot_fetch_fails_the_call(emulator: SirayaEmulator) -> None:
    emulator.reference_transport = StoredReferences().transport()  # knows no link: 403
    reference = ReferenceInput(
        content=PNG_REFERENCE, url=None, mime="image/png", link="https://studio.example/media/r/9"
    )

    error = failure_of(emulator, make_request(references=(reference,)))

    assert isinstance(error, BadRequest)
    assert "HTTP 403" in error.message


def test_url_replies_are_downloaded_at_once(emulator: SirayaEmulator) -> None:
    image, _ = run(emulator, make_request(), response_format="url")

    assert isinstance(image, ProviderImage)
    assert image.content is not None
    assert Image.open(io.BytesIO(image.content)).size == (2048, 2048)
    assert image.url is not None
    assert image.url.startswith(f"{emulator.base_url}/files/")


# --- the exact outgoing body -------------------------------------------------------------

GOLDEN_BODIES: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (  # a tier becomes the table's size for the aspect ratio
        {},
        {},
        {
            "model": "ByteDance-Seedream-4.5",
            "prompt": PROMPT,
            "size": "2048x2048",
            "watermark": False,
            "response_format": "b64_json",
        },
    ),
    (  # Siraya's 1K 16:9 is 1312x736, not the catalog's (Ark's) 1280x720
        {
            "model": "seedream-4.0",
            "size": "1K",
            "aspect_ratio": "16:9",
            "width": 1280,
            "height": 720,
        },
        {},
        {
            "model": "ByteDance-Seedream-4.0",
            "prompt": PROMPT,
            "size": "1312x736",
            "watermark": False,
            "response_format": "b64_json",
        },
    ),
    (  # 4K 21:9 on 4.5
        {"size": "4K", "aspect_ratio": "21:9", "width": 6240, "height": 2656},
        {},
        {
            "model": "ByteDance-Seedream-4.5",
            "prompt": PROMPT,
            "size": "6240x2656",
            "watermark": False,
            "response_format": "b64_json",
        },
    ),
    (  # 3K has no table: square goes as the keyword
        {"model": "seedream-5.0-lite", "size": "3K", "width": 3072, "height": 3072},
        {},
        {
            "model": "Dola-Seedream-5.0-lite",
            "prompt": PROMPT,
            "size": "3K",
            "watermark": False,
            "response_format": "b64_json",
        },
    ),
    (  # an explicit size from the table passes unchanged
        {
            "model": "seedream-4.0",
            "size": "2496x1664",
            "aspect_ratio": "",
            "width": 2496,
            "height": 1664,
        },
        {},
        {
            "model": "ByteDance-Seedream-4.0",
            "prompt": PROMPT,
            "size": "2496x1664",
            "watermark": False,
            "response_format": "b64_json",
        },
    ),
    (  # account options: watermark, url replies, a model id override; a URL reference
        {
            "references": (
                ReferenceInput(content=None, url="https://cdn.example/ref.jpg", mime="image/jpeg"),
            )
        },
        {
            "watermark": True,
            "response_format": "url",
            "model_ids": {"seedream-4.5": "ByteDance-Seedream-4.0"},
        },
        {
            "model": "ByteDance-Seedream-4.0",
            "prompt": PROMPT,
            "size": "2048x2048",
            "image": "https://cdn.example/ref.jpg",
            "watermark": True,
            "response_format": "url",
        },
    ),
    (  # a request asking for the watermark gets it even where the account does not
        {"watermark": True},
        {},
        {
            "model": "ByteDance-Seedream-4.5",
            "prompt": PROMPT,
            "size": "2048x2048",
            "watermark": True,
            "response_format": "b64_json",
        },
    ),
]


@pytest.mark.parametrize(("overrides", "options", "expected"), GOLDEN_BODIES)
def test_outgoing_body(
    emulator: SirayaEmulator,
    overrides: dict[str, Any],
    options: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    outcomes = run(emulator, make_request(**overrides), **options)

    assert emulator.requests[0].body == expected
    assert sum(isinstance(outcome, ProviderImage) for outcome in outcomes) == 1


# --- refused before any call -------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "asked"),
    [
        # in the catalog's range for 4.0, but not a size Siraya's table lists
        ({"model": "seedream-4.0", "size": "1280x720", "aspect_ratio": ""}, "1280x720"),
        # in Siraya's table, but under 4.5's 3,686,400-pixel floor
        ({"size": "1024x1024", "aspect_ratio": "", "width": 1024, "height": 1024}, "1024x1024"),
        ({"size": "1K", "width": 1024, "height": 1024}, "1K at 1:1"),
        ({"model": "seedream-5.0-lite", "size": "3K", "aspect_ratio": "16:9"}, "3K at 16:9"),
        ({"model": "seedream-4.0", "size": "2K", "aspect_ratio": "9:21"}, "2K at 9:21"),
    ],
)
def test_sizes_outside_the_table_are_refused_before_any_call(
    emulator: SirayaEmulator, overrides: dict[str, Any], asked: str
) -> None:
    error = refused(emulator, make_request(**overrides))

    assert asked in error.message
    assert "2048x2048" in error.message
    assert "2496x1664" in error.message


def test_the_refusal_lists_exactly_the_sizes_the_model_takes(emulator: SirayaEmulator) -> None:
    error = failure_of(emulator, make_request(size="1K"))

    assert "1024x1024" not in error.message  # 4.5 has no 1K
    assert "4096x4096" in error.message
    lite = failure_of(emulator, make_request(model="seedream-5.0-lite", size="1K"))
    assert "or 3K at 1:1" in lite.message


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"max_images": 2}, "one image per request"),
        (
            {
                "references": (ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png"),)
                * 2
            },
            "at most one reference image",
        ),
        ({"model": "dreamina-3.1"}, "does not serve dreamina-3.1"),
        ({"model": "seededit-3.0-i2i", "size": "adaptive", "aspect_ratio": ""}, "does not serve"),
        ({"seed": 7}, "no seed"),
        ({"output_format": "png"}, "JPEG"),
    ],
)
def test_what_siraya_cannot_do_is_refused_before_any_call(
    emulator: SirayaEmulator, overrides: dict[str, Any], words: str
) -> None:
    assert words in refused(emulator, make_request(**overrides)).message


def test_an_account_without_a_key_is_refused_before_any_call(emulator: SirayaEmulator) -> None:
    adapter = make_adapter(emulator)
    adapter.account = replace(adapter.account, api_key="")

    with pytest.raises(AuthError):
        list(adapter.generate(make_request()))
    assert emulator.requests == []


# --- faults and provider errors ----------------------------------------------------------


def test_a_fault_named_in_the_prompt_works_too(emulator: SirayaEmulator) -> None:
    error = failure_of(emulator, make_request(prompt=f"{PROMPT} [fault:refuse]"))

    assert error.provider_code == "InputTextSensitiveContentDetected"


@pytest.mark.parametrize("fault", ["latency", "partial"])
def test_faults_that_do_not_break_a_single_image_call(emulator: SirayaEmulator, fault: str) -> None:
    # partial does not apply to Siraya: one image per call, no group to fail partly.
    emulator.faults.add(fault, seconds=0.01)

    outcomes = run(emulator, make_request())

    assert [type(outcome) for outcome in outcomes] == [ProviderImage, ProviderUsage]


def test_an_empty_account_is_a_quota_error() -> None:
    emulator = SirayaEmulator(out_of_balance=True)

    error = failure_of(emulator, make_request())

    assert type(error) is QuotaError
    assert error.http_status == 403


def test_a_model_siraya_does_not_know_is_a_bad_request_naming_it(emulator: SirayaEmulator) -> None:
    error = failure_of(emulator, make_request(), model_ids={"seedream-4.5": "Seedream-9"})

    assert type(error) is BadRequest
    assert error.http_status == 404
    assert "Seedream-9 is not available" in error.message


def test_the_key_never_appears_in_errors() -> None:
    secret = "sk-siraya-0123456789"
    emulator = SirayaEmulator(api_key="another-key")
    account = AccountConfig(
        kind="siraya", label="Siraya", base_url=emulator.base_url, api_key=secret
    )

    with pytest.raises(AuthError) as caught:
        list(build_adapter(account, transport=emulator.transport()).generate(make_request()))

    assert secret not in f"{caught.value} {caught.value!r} {caught.value.user_message}"


# --- the emulator's own validation -------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"model": "ByteDance-Seedream-4.5", "size": "1024x1024"}, 400, "at least 3686400 pixels"),
        ({"model": "ByteDance-Seedream-4.0", "size": "1280x720"}, 400, "size table"),
        ({"model": "ByteDance-Seedream-4.0"}, 400, "size is required"),
        ({"model": "ByteDance-Seedream-4.0", "size": "2K", "n": 2}, 400, "n"),
        (
            {"model": "ByteDance-Seedream-4.0", "size": "2K", "image": ["https://a/b.png"]},
            400,
            "single",
        ),
        ({"model": "Seedream-4.0", "size": "2K"}, 404, "does not exist"),
    ],
)
def test_the_emulator_rejects_what_siraya_rejects(
    emulator: SirayaEmulator, body: dict[str, Any], status: int, words: str
) -> None:
    with httpx.Client(transport=emulator.transport(), base_url=emulator.base_url) as client:
        response = client.post(
            "/v1/images/generations",
            json={"prompt": PROMPT, **body},
            headers={"Authorization": "Bearer test-key"},
        )

    assert response.status_code == status
    assert words in response.json()["error"]["message"]


# --- a real socket -----------------------------------------------------------------------


def test_over_a_loopback_port(emulator: SirayaEmulator) -> None:
    with emulator.serve() as base_url:
        account = AccountConfig(
            kind="siraya", label="Siraya", base_url=base_url, api_key="test-key"
        )
        image, usage = build_adapter(account).generate(
            make_request(model="seedream-4.0", size="1K")
        )

    assert isinstance(image, ProviderImage)
    assert (image.width, image.height) == (1024, 1024)
    assert isinstance(usage, ProviderUsage)
    assert usage.generated_images == 1
