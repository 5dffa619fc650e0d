import base64
from dataclasses import replace
from functools import partial
from typing import Any

import httpx
import pytest

from generations.providers import (
    AccountConfig,
    AuthError,
    BadRequest,
    BadResponse,
    ContentRefused,
    ProviderError,
    ProviderImage,
    ProviderImageFailure,
    ProviderOutcome,
    ProviderRequest,
    ProviderTimeout,
    ProviderUsage,
    QuotaError,
    RateLimited,
    ReferenceInput,
    Unavailable,
    build_adapter,
    get_adapter_class,
)
from generations.providers.ark import ARK_BASE_URLS, ArkAdapter, BytePlusAdapter, ark_error
from generations.providers.ark.stream import ServerSentEvent, iter_sse_events
from tests.conftest import make_png
from tests.emulators.ark import ArkEmulator
from tests.providers import support
from tests.providers.support import PROMPT, images_of
from tests.providers.support import pixels as pixels_of

make_request = partial(support.make_request, size="1K", width=1024, height=1024)


def make_adapter(emulator: ArkEmulator, *, kind: str = "ark", **options: Any) -> ArkAdapter:
    adapter_class = BytePlusAdapter if kind == "byteplus" else ArkAdapter
    return support.make_adapter(adapter_class, emulator, **options)


def run(adapter: ArkAdapter, request: ProviderRequest) -> list[ProviderOutcome]:
    return list(adapter.generate(request))


def sent_body(emulator: ArkEmulator) -> dict[str, object]:
    (recorded,) = [r for r in emulator.requests if r.path == "/api/v3/images/generations"]
    assert isinstance(recorded.body, dict)
    return recorded.body


def data_uri(content: bytes, fmt: str = "png") -> str:
    return f"data:image/{fmt};base64,{base64.b64encode(content).decode()}"


@pytest.fixture
def emulator() -> ArkEmulator:
    return ArkEmulator()


# --- happy paths ---------------------------------------------------------------------------


def test_registered_kinds_and_default_bases() -> None:
    assert get_adapter_class("ark") is ArkAdapter
    assert get_adapter_class("byteplus") is BytePlusAdapter
    assert ArkAdapter.default_base_url == ARK_BASE_URLS["volcengine-cn-beijing"]
    assert BytePlusAdapter.default_base_url == ARK_BASE_URLS["byteplus-ap-southeast"]
    assert set(ARK_BASE_URLS) == {
        "volcengine-cn-beijing",
        "byteplus-ap-southeast",
        "byteplus-eu-west",
    }


def test_text_to_image_downloads_the_url_and_reports_usage(emulator: ArkEmulator) -> None:
    outcomes = run(make_adapter(emulator, stream=False), make_request())

    image, usage = outcomes
    assert isinstance(image, ProviderImage)
    assert image.url is not None
    assert image.url.startswith(emulator.base_url + "/files/")
    assert (image.index, image.width, image.height, image.mime) == (0, 1024, 1024, "image/jpeg")
    assert pixels_of(image) == (1024, 1024)
    assert usage == ProviderUsage(generated_images=1, output_tokens=4096, raw=usage.raw)  # type: ignore[union-attr]
    headers = emulator.requests[0].headers
    assert headers["authorization"] == "Bearer test-key"
    assert headers["content-type"] == "application/json"
    assert headers["x-client-request-id"].startswith("seedream-studio-")


def test_several_references_go_out_as_lowercase_data_uris(emulator: ArkEmulator) -> None:
    first, second = make_png(40, 30), make_png(30, 40, color=(10, 20, 30))
    references = (
        ReferenceInput(content=first, url=None, mime="image/PNG"),
        ReferenceInput(content=second, url=None, mime="image/png"),
        ReferenceInput(content=None, url="https://example.com/ref.jpg", mime="image/jpeg"),
    )

    outcomes = run(make_adapter(emulator), make_request(references=references))

    assert len(images_of(outcomes)) == 1
    assert sent_body(emulator)["image"] == [
        data_uri(first),
        data_uri(second),
        "https://example.com/ref.jpg",
    ]


@pytest.mark.parametrize("stream", [False, True])
def test_group_of_n_yields_every_image_then_usage(emulator: ArkEmulator, stream: bool) -> None:
    outcomes = run(make_adapter(emulator, stream=stream), make_request(max_images=3))

    assert [type(outcome) for outcome in outcomes] == [ProviderImage] * 3 + [ProviderUsage]
    assert [image.index for image in images_of(outcomes)] == [0, 1, 2]
    assert outcomes[-1].generated_images == 3  # type: ignore[union-attr]
    assert outcomes[-1].output_tokens == 3 * 4096  # type: ignore[union-attr]


def test_stream_yields_the_first_image_before_the_provider_finishes(
    emulator: ArkEmulator,
) -> None:
    outcomes = make_adapter(emulator).generate(make_request(max_images=3))

    first = next(outcomes)

    assert isinstance(first, ProviderImage)
    assert first.index == 0
    assert "image_generation.completed" not in emulator.sent_events
    rest = list(outcomes)
    assert [type(outcome) for outcome in rest] == [ProviderImage, ProviderImage, ProviderUsage]
    assert emulator.sent_events[-2:] == ["image_generation.completed", "[DONE]"]


@pytest.mark.parametrize("stream", [False, True])
def test_b64_json_is_decoded(emulator: ArkEmulator, stream: bool) -> None:
    adapter = make_adapter(emulator, response_format="b64_json", stream=stream)
    request = make_request(model="seedream-5.0-lite", size="2K", width=2048, height=2048)

    (image,) = images_of(run(adapter, replace(request, output_format="png")))

    assert image.url is None
    assert image.mime == "image/png"
    assert pixels_of(image) == (2048, 2048)


def test_seededit_sends_seed_guidance_and_one_image(emulator: ArkEmulator) -> None:
    reference = make_png(300, 200)
    request = make_request(
        model="seededit-3.0-i2i",
        size="adaptive",
        aspect_ratio="",
        references=(ReferenceInput(content=reference, url=None, mime="image/png"),),
        seed=42,
        guidance_scale=5.5,
    )

    (image,) = images_of(run(make_adapter(emulator), request))

    body = sent_body(emulator)
    assert (body["seed"], body["guidance_scale"], body["image"]) == (42, 5.5, data_uri(reference))
    assert "sequential_image_generation" not in body
    assert "stream" not in body
    width, height = pixels_of(image)
    assert (image.width, image.height) == (width, height)
    assert width > height  # SeedEdit keeps the reference's landscape shape


def test_non_square_tier_goes_out_as_the_table_size(emulator: ArkEmulator) -> None:
    request = make_request(size="2K", aspect_ratio="16:9", width=2848, height=1600)

    (image,) = images_of(run(make_adapter(emulator), request))

    assert sent_body(emulator)["size"] == "2848x1600"
    assert pixels_of(image) == (2848, 1600)


@pytest.mark.parametrize(
    ("flavour", "kind", "model_id"),
    [
        ("volcengine", "ark", "doubao-seedream-4-0-250828"),
        ("byteplus", "byteplus", "seedream-4-0-250828"),
    ],
)
def test_each_flavour_sends_its_model_ids(flavour: str, kind: str, model_id: str) -> None:
    emulator = ArkEmulator(flavour=flavour)

    outcomes = run(make_adapter(emulator, kind=kind), make_request())

    assert sent_body(emulator)["model"] == model_id
    assert len(images_of(outcomes)) == 1


def test_volcengine_ids_on_byteplus_are_an_unavailable_model() -> None:
    emulator = ArkEmulator(flavour="byteplus")

    with pytest.raises(BadRequest) as caught:
        run(make_adapter(emulator, kind="ark"), make_request())

    assert caught.value.http_status == 404
    assert caught.value.provider_code == "InvalidEndpointOrModel.NotFound"
    assert "not available to this account" in caught.value.message
    assert caught.value.request_id
    assert not caught.value.failover_safe


def test_model_ids_option_sends_the_endpoint_id() -> None:
    emulator = ArkEmulator(endpoints={"ep-20250101-abcde": "doubao-seedream-4-5-251128"})
    adapter = make_adapter(emulator, model_ids={"seedream-4.5": "ep-20250101-abcde"})
    request = make_request(model="seedream-4.5", size="2K", width=2048, height=2048)

    outcomes = run(adapter, request)

    assert sent_body(emulator)["model"] == "ep-20250101-abcde"
    assert len(images_of(outcomes)) == 1


def test_dreamina_is_refused_before_any_call(emulator: ArkEmulator) -> None:
    with pytest.raises(BadRequest, match=r"dreamina-3\.1 is not served by Volcengine Ark"):
        run(make_adapter(emulator), make_request(model="dreamina-3.1"))

    assert emulator.requests == []


def test_validation_error_on_a_stream_names_the_param(emulator: ArkEmulator) -> None:
    request = make_request(model="seedream-4.5", size="1280x720", aspect_ratio="")

    with pytest.raises(BadRequest) as caught:
        run(make_adapter(emulator, stream=True), request)

    assert caught.value.provider_code == "InvalidParameter"
    assert "at least 3686400 pixels" in caught.value.message
    assert "(param: size)" in caught.value.message
    assert caught.value.request_id


# --- golden request bodies -----------------------------------------------------------------

REFERENCE = make_png(64, 48)
GOLDEN = [
    (
        make_request(size="2K", width=2048, height=2048, max_images=3),
        {
            "model": "doubao-seedream-4-0-250828",
            "size": "2K",
            "sequential_image_generation": "auto",
            "sequential_image_generation_options": {"max_images": 3},
            "watermark": False,
            "response_format": "url",
            "stream": True,
        },
    ),
    (
        make_request(
            model="seedream-4.5", size="2560x1440", aspect_ratio="", width=2560, height=1440
        ),
        {
            "model": "doubao-seedream-4-5-251128",
            "size": "2560x1440",
            "sequential_image_generation": "disabled",
            "sequential_image_generation_options": {"max_images": 1},
            "watermark": False,
            "response_format": "url",
            "stream": True,
        },
    ),
    (
        make_request(
            model="seedream-3.0-t2i", size="1024x1024", aspect_ratio="", seed=7, guidance_scale=2.5
        ),
        {
            "model": "doubao-seedream-3-0-t2i-250415",
            "size": "1024x1024",
            "seed": 7,
            "guidance_scale": 2.5,
            "watermark": False,
            "response_format": "url",
        },
    ),
    (
        make_request(
            model="seededit-3.0-i2i",
            size="adaptive",
            aspect_ratio="",
            references=(ReferenceInput(content=REFERENCE, url=None, mime="image/png"),),
        ),
        {
            "model": "doubao-seededit-3-0-i2i-250628",
            "size": "adaptive",
            "image": data_uri(REFERENCE),
            "watermark": False,
            "response_format": "url",
        },
    ),
    (
        make_request(
            model="seedream-5.0-lite", size="2K", width=2048, height=2048, output_format="png"
        ),
        {
            "model": "doubao-seedream-5-0-260128",
            "size": "2K",
            "sequential_image_generation": "disabled",
            "sequential_image_generation_options": {"max_images": 1},
            "watermark": False,
            "response_format": "url",
            "output_format": "png",
            "stream": True,
        },
    ),
]


@pytest.mark.parametrize(
    ("request_", "expected"),
    GOLDEN,
    ids=["4.0-tier-group", "4.5-wxh", "3.0-seed-guidance", "seededit-reference", "5.0-lite-png"],
)
def test_golden_request_body(
    emulator: ArkEmulator, request_: ProviderRequest, expected: dict[str, object]
) -> None:
    outcomes = run(make_adapter(emulator), request_)

    assert sent_body(emulator) == {"prompt": PROMPT, **expected}
    assert isinstance(outcomes[-1], ProviderUsage)


# --- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("fault", "error_class", "failover_safe"),
    [
        ("rate_limit", RateLimited, True),
        ("auth", AuthError, True),
        # An error reply bills nothing (Ark bills generated images only): another account may try.
        ("server_error", Unavailable, True),
        ("unavailable", Unavailable, True),
        # A connection dropped after the request went out: the call may be running and billed.
        ("drop", Unavailable, False),
        ("hang", ProviderTimeout, False),
        ("malformed", BadResponse, False),
        ("refuse", ContentRefused, False),
    ],
)
def test_fault_maps_to_its_error(
    emulator: ArkEmulator,
    stream: bool,
    fault: str,
    error_class: type[ProviderError],
    failover_safe: bool,
) -> None:
    emulator.faults.add(fault, path="/images/generations")

    with pytest.raises(error_class) as caught:
        run(make_adapter(emulator, stream=stream), make_request())

    error = caught.value
    assert type(error) is error_class
    assert error.failover_safe is failover_safe
    assert "test-key" not in str(error)
    if fault in ("rate_limit", "auth", "server_error", "unavailable", "refuse"):
        assert error.request_id
        assert error.provider_code
    if fault == "rate_limit":
        assert isinstance(error, RateLimited)
        assert error.retry_after == 2.0


def test_latency_fault_only_delays(emulator: ArkEmulator) -> None:
    emulator.faults.add("latency", seconds=0.05)

    outcomes = run(make_adapter(emulator), make_request())

    assert len(images_of(outcomes)) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_partial_failure_yields_the_failure_and_bills_only_delivered(
    emulator: ArkEmulator, stream: bool
) -> None:
    emulator.faults.add("partial")

    outcomes = run(make_adapter(emulator, stream=stream), make_request(max_images=3))

    assert [image.index for image in images_of(outcomes)] == [0, 1]
    (failure,) = [outcome for outcome in outcomes if isinstance(outcome, ProviderImageFailure)]
    assert (failure.index, failure.code) == (2, "content_refused")
    assert "OutputImageSensitiveContentDetected" in failure.message
    usage = outcomes[-1]
    assert isinstance(usage, ProviderUsage)
    assert (usage.generated_images, usage.output_tokens) == (2, 2 * 4096)


def test_end_to_end_over_a_real_socket(emulator: ArkEmulator) -> None:
    with emulator.serve():
        adapter = make_adapter(emulator, in_process=False)
        outcomes = run(adapter, make_request(max_images=2))

    assert [type(outcome) for outcome in outcomes] == [ProviderImage, ProviderImage, ProviderUsage]
    assert all(pixels_of(image) == (1024, 1024) for image in images_of(outcomes))


# --- replies the emulator does not make ----------------------------------------------------


def mock_adapter(
    reply: httpx.Response, *, kind: str = "ark", seen: list[httpx.Request] | None = None
) -> ArkAdapter:
    """An adapter whose every call gets `reply`; requests are appended to `seen`."""

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return reply

    account = AccountConfig(kind=kind, label="mock", api_key="sk-secret-123456")
    adapter = build_adapter(account, transport=httpx.MockTransport(handler))
    assert isinstance(adapter, ArkAdapter)
    return adapter


@pytest.mark.parametrize(
    ("kind", "host"),
    [("ark", "ark.cn-beijing.volces.com"), ("byteplus", "ark.ap-southeast.bytepluses.com")],
)
def test_default_base_url_per_kind(kind: str, host: str) -> None:
    seen: list[httpx.Request] = []
    reply = httpx.Response(200, json={"data": [], "usage": {}})
    adapter = mock_adapter(reply, kind=kind, seen=seen)

    run(adapter, make_request())

    (request,) = seen
    assert str(request.url) == f"https://{host}/api/v3/images/generations"


def test_top_level_error_in_a_200_raises_by_its_code() -> None:
    reply = {"data": [], "error": {"code": "RateLimitExceeded.EndpointTPMExceeded", "message": "x"}}

    with pytest.raises(RateLimited) as caught:
        run(mock_adapter(httpx.Response(200, json=reply)), make_request())

    assert caught.value.http_status == 200


def test_a_200_with_only_failures_yields_them() -> None:
    failure = {"error": {"code": "OutputImageSensitiveContentDetected", "message": "blocked"}}
    usage = {"generated_images": 0, "output_tokens": 0}
    reply = {"data": [failure], "usage": usage}

    outcomes = run(mock_adapter(httpx.Response(200, json=reply)), make_request())

    assert outcomes == [
        ProviderImageFailure(index=0, code="content_refused", message=outcomes[0].message),  # type: ignore[union-attr]
        ProviderUsage(generated_images=0, output_tokens=0, raw=usage),
    ]


def test_a_stream_cut_before_completion_is_not_failover_safe() -> None:
    event = (
        '{"type":"image_generation.partial_failed","image_index":0,'
        '"error":{"code":"InternalServiceError","message":"x"}}'
    )
    body = f"event: image_generation.partial_failed\ndata: {event}\n\n".encode()
    reply = httpx.Response(200, content=body, headers={"Content-Type": "text/event-stream"})
    outcomes: list[ProviderOutcome] = []

    with pytest.raises(Unavailable) as caught:
        outcomes.extend(mock_adapter(reply).generate(make_request()))

    assert outcomes == [
        ProviderImageFailure(
            index=0, code="provider_unavailable", message="InternalServiceError: x"
        )
    ]
    assert caught.value.failover_safe is False


def test_the_api_key_is_redacted_from_echoed_messages() -> None:
    reply = {"error": {"code": "AuthenticationError", "message": "bad key sk-secret-123456"}}

    with pytest.raises(AuthError) as caught:
        run(mock_adapter(httpx.Response(401, json=reply)), make_request())

    assert "sk-secret-123456" not in str(caught.value)
    assert "sk-secret-123456" not in repr(caught.value)


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (403, "AccountOverdueError", QuotaError),
        (403, "AccessDenied", AuthError),
        (400, "InputImageSensitiveContentDetected.PrivacyInformation", ContentRefused),
        (400, "SensitiveContentDetected.Violence", ContentRefused),
        (400, "MissingParameter", BadRequest),
        (400, "InvalidEndpoint.ClosedEndpoint", BadRequest),
        (404, "UnsupportedModel", BadRequest),
        (429, "RateLimitExceeded.EndpointRPMExceeded", RateLimited),
        (502, "", Unavailable),
        (200, "ModelNotOpen", QuotaError),
        (200, "InternalServiceError", Unavailable),
        (200, "SomethingNew", Unavailable),
    ],
)
def test_error_codes_map_to_the_error_tree(
    status: int, code: str, error_class: type[ProviderError]
) -> None:
    error = ark_error({"code": code, "message": "m", "param": "size"}, http_status=status)

    assert type(error) is error_class
    assert error.http_status == status
    assert "(param: size)" in error.message
    if isinstance(error, Unavailable):
        # Safe to hand to another account only when the provider answered with an error status.
        assert error.failover_safe is (status >= 500)


def test_sse_framing_survives_crlf_split_chunks_and_missing_blank_lines() -> None:
    raw = 'event: a\r\ndata: {"x": "\u2028é"}\r\n\r\ndata: {"y": 1}\ndata: [DONE]\n'.encode()
    chunks = [raw[start : start + 3] for start in range(0, len(raw), 3)]

    events = list(iter_sse_events(chunks))

    assert events == [
        ServerSentEvent(event="a", data='{"x": "\u2028é"}'),
        ServerSentEvent(event="", data='{"y": 1}'),
        ServerSentEvent(event="", data="[DONE]"),
    ]


def test_an_error_event_before_any_image_keeps_its_own_failover_rule() -> None:
    """A 200 event stream whose first event is an error (an account out of balance) made no
    image and billed nothing: the error's own class decides, so another account may serve."""
    stream = (
        'data: {"type": "image_generation.completed", "error": {"code": "AccountOverdueError",'
        ' "message": "the account is overdue"}}\n\ndata: [DONE]\n\n'
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=stream.encode()
        )

    account = AccountConfig(
        kind="ark", label="Ark (test)", base_url="https://ark.test/api/v3", api_key="test-key"
    )
    adapter = build_adapter(account, transport=httpx.MockTransport(handler))

    with pytest.raises(QuotaError) as caught:
        list(adapter.generate(make_request(max_images=2)))
    assert caught.value.failover_safe
