"""The Ace Data Cloud adapter against its emulator: its two modes, its fields and sizes, its
read timeout and its error envelope. What every adapter does is in the contract suites."""

import asyncio
import base64
from functools import partial
from typing import Any

import httpx
import pytest

from generations.providers import (
    AuthError,
    BadRequest,
    ContentRefused,
    JobAdapter,
    ProviderError,
    ProviderImage,
    ProviderOutcome,
    ProviderUsage,
    QuotaError,
    RateLimited,
    ReferenceInput,
    Unavailable,
    calls,
)
from generations.providers.acedata import (
    AceDataAdapter,
    AceDataCallAdapter,
    AceDataTaskAdapter,
    ace_error,
)
from generations.providers.calls import call_outcomes
from tests.emulators.acedata import AceDataEmulator
from tests.emulators.base import render_test_image
from tests.providers import support
from tests.providers.support import PROMPT, Sleeps, images_of, make_request, pixels

PNG_REFERENCE = render_test_image(width=64, height=48, fmt="png", seed=5)
PNG_DATA_URI = "data:image/png;base64," + base64.b64encode(PNG_REFERENCE).decode()
REFERENCE_URL = "https://cdn.example/reference.jpg"
# `async` is a keyword, so the option goes in as a dict.
ASYNC: dict[str, Any] = {"async": True}


@pytest.fixture
def emulator() -> AceDataEmulator:
    return AceDataEmulator()


make_adapter = partial(support.make_adapter, AceDataAdapter)
refused = partial(support.refusal_before_any_call, AceDataAdapter)
run = partial(support.generate_on, AceDataAdapter)
failure_of = partial(support.failure_on, AceDataAdapter)


# --- happy paths -------------------------------------------------------------------------


def test_text_to_image_downloads_the_image_then_reports_usage(emulator: AceDataEmulator) -> None:
    image, usage = run(emulator, make_request())

    assert isinstance(image, ProviderImage)
    assert pixels(image) == (2048, 2048)
    assert (image.index, image.width, image.height, image.mime) == (0, 2048, 2048, "image/jpeg")
    assert image.url is not None
    assert image.url.startswith(f"{emulator.base_url}/files/")
    assert isinstance(usage, ProviderUsage)
    assert usage.generated_images == 1
    assert usage.raw["model"] == "doubao-seedream-4-0-250828"
    (call,) = emulator.requests
    assert (call.method, call.path) == ("POST", "/seedream/images")
    assert call.headers["authorization"] == "Bearer test-key"
    assert call.headers["accept"] == "application/json"


def test_image_to_image_sends_every_reference(emulator: AceDataEmulator) -> None:
    references = (
        ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png"),
        ReferenceInput(content=None, url=REFERENCE_URL, mime="image/jpeg"),
        ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png"),
    )

    outcomes = run(emulator, make_request(references=references))

    assert len(images_of(outcomes)) == 1
    assert emulator.requests[0].body["image"] == [PNG_DATA_URI, REFERENCE_URL, PNG_DATA_URI]


# --- the two modes ----------------------------------------------------------------------


def test_async_is_a_job_whose_polls_each_read_the_task_once() -> None:
    # The worker re-schedules polls (jobs.py); nothing waits in a thread for the task.
    emulator = AceDataEmulator(ready_after_polls=2)
    sleeps = Sleeps()
    adapter = make_adapter(emulator, sleeps=sleeps, **ASYNC)
    assert isinstance(adapter, AceDataTaskAdapter)

    job = adapter.submit(make_request(max_images=2))
    (task_id,) = emulator.tasks
    assert (job.job_id, job.finished) == (task_id, False)
    first, second = adapter.poll(job), adapter.poll(job)
    finished = adapter.poll(job)

    assert (first.done, second.done, finished.done) == (False, False, True)
    assert first.provider_status == "pending"
    assert len(images_of(list(finished.outcomes))) == 2
    assert sleeps == []  # no poll waited
    create, *polls = [call for call in emulator.requests if call.path.startswith("/seedream")]
    assert create.path == "/seedream/images"
    assert create.body["async"] is True
    assert [(poll.path, poll.body) for poll in polls] == [
        ("/seedream/tasks", {"id": task_id, "action": "retrieve"})
    ] * 3
    usage = finished.outcomes[-1]
    assert isinstance(usage, ProviderUsage)
    assert usage.raw["task_id"] == task_id


def test_sync_is_one_call_awaited_on_an_event_loop(emulator: AceDataEmulator) -> None:
    # No job and no thread: the worker awaits the held call on its event loop (calls.py).
    adapter = make_adapter(emulator)
    assert isinstance(adapter, AceDataCallAdapter)
    assert not isinstance(adapter, JobAdapter)

    async def on_the_loop() -> list[ProviderOutcome]:
        return [outcome async for outcome in call_outcomes(adapter, make_request(max_images=2))]

    outcomes = asyncio.run(on_the_loop())

    assert [image.index for image in images_of(outcomes)] == [0, 1]
    assert isinstance(outcomes[-1], ProviderUsage)
    assert [call.path for call in emulator.requests if call.path.startswith("/seedream")] == [
        "/seedream/images"
    ]


class TimeoutRecorder(httpx.BaseTransport):
    """The emulator's transport, noting each call's read timeout."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.read_timeouts: list[tuple[str, float]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.read_timeouts.append((request.url.path, request.extensions["timeout"]["read"]))
        return self.inner.handle_request(request)


def test_the_sync_call_reads_for_at_least_five_minutes(emulator: AceDataEmulator) -> None:
    # Ace's sync call is answered once the images exist, 1-2 minutes and more for a group;
    # the usual 120 s would drop replies Ace has billed. Async calls keep the account's value.
    recorder = TimeoutRecorder(emulator.transport())
    list(make_adapter(emulator, transport=recorder).generate(make_request()))
    list(make_adapter(emulator, transport=recorder, read_timeout_s=600.0).generate(make_request()))
    async_adapter = make_adapter(emulator, transport=recorder, **ASYNC)
    assert isinstance(async_adapter, AceDataTaskAdapter)
    async_adapter.poll(async_adapter.submit(make_request()))

    assert [timeout for path, timeout in recorder.read_timeouts if path.startswith("/seed")] == [
        300.0,
        600.0,
        120.0,
        120.0,
    ]


def test_the_call_on_the_event_loop_reads_for_at_least_five_minutes(
    emulator: AceDataEmulator,
) -> None:
    async def read_timeout(adapter: AceDataAdapter) -> float | None:
        async with calls.account_client(adapter) as client:
            return client.timeout.read

    assert asyncio.run(read_timeout(make_adapter(emulator))) == 300.0
    assert asyncio.run(read_timeout(make_adapter(emulator, read_timeout_s=600.0))) == 600.0


@pytest.mark.parametrize(
    ("fault", "error_class"), [("refuse", ContentRefused), ("fail_after_run", Unavailable)]
)
def test_a_failed_task_raises_and_must_not_fail_over(
    emulator: AceDataEmulator, fault: str, error_class: type[ProviderError]
) -> None:
    emulator.faults.add(fault, path="/seedream/images")

    error = failure_of(emulator, make_request(), **ASYNC)

    assert type(error) is error_class
    assert error.failover_safe is False  # Ace accepted the task
    assert error.http_status is None


# --- the exact outgoing body -------------------------------------------------------------

GOLDEN_BODIES: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (  # a square tier stays a keyword; watermark off unless asked for
        {},
        {},
        {
            "action": "generate",
            "model": "doubao-seedream-4-0-250828",
            "prompt": PROMPT,
            "size": "2K",
            "sequential_image_generation": "disabled",
            "sequential_image_generation_options": {"max_images": 1},
            "watermark": False,
            "response_format": "url",
        },
    ),
    (  # a non-square tier goes as the table size, so the shape is kept
        {"model": "seedream-4.5", "aspect_ratio": "16:9", "width": 2848, "height": 1600},
        {},
        {
            "action": "generate",
            "model": "doubao-seedream-4-5-251128",
            "prompt": PROMPT,
            "size": "2848x1600",
            "sequential_image_generation": "disabled",
            "sequential_image_generation_options": {"max_images": 1},
            "watermark": False,
            "response_format": "url",
        },
    ),
    (  # 5.0 lite: a PNG group of 3 with a reference
        {
            "model": "seedream-5.0-lite",
            "size": "3K",
            "width": 3072,
            "height": 3072,
            "max_images": 3,
            "output_format": "png",
            "references": (ReferenceInput(content=None, url=REFERENCE_URL, mime="image/jpeg"),),
        },
        {},
        {
            "action": "generate",
            "model": "doubao-seedream-5-0-260128",
            "prompt": PROMPT,
            "size": "3K",
            "image": [REFERENCE_URL],
            "sequential_image_generation": "auto",
            "sequential_image_generation_options": {"max_images": 3},
            "watermark": False,
            "response_format": "url",
            "output_format": "png",
        },
    ),
    (  # 3.0: seed and guidance, no group fields
        {
            "model": "seedream-3.0-t2i",
            "size": "1024x1024",
            "aspect_ratio": "",
            "width": 1024,
            "height": 1024,
            "seed": 42,
            "guidance_scale": 2.5,
        },
        {},
        {
            "action": "generate",
            "model": "doubao-seedream-3-0-t2i-250415",
            "prompt": PROMPT,
            "size": "1024x1024",
            "seed": 42,
            "guidance_scale": 2.5,
            "watermark": False,
            "response_format": "url",
        },
    ),
    (  # SeedEdit: adaptive with its one reference as a data URI
        {
            "model": "seededit-3.0-i2i",
            "size": "adaptive",
            "aspect_ratio": "",
            "width": 1024,
            "height": 1024,
            "guidance_scale": 5.5,
            "references": (ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png"),),
        },
        {},
        {
            "action": "generate",
            "model": "doubao-seededit-3-0-i2i-250628",
            "prompt": PROMPT,
            "size": "adaptive",
            "image": [PNG_DATA_URI],
            "guidance_scale": 5.5,
            "watermark": False,
            "response_format": "url",
        },
    ),
    (  # account options: async, watermark, a model id override (the guide's lite alias)
        {"model": "seedream-5.0-lite"},
        {
            "async": True,
            "watermark": True,
            "model_ids": {"seedream-5.0-lite": "doubao-seedream-5-0-lite-260128"},
        },
        {
            "action": "generate",
            "model": "doubao-seedream-5-0-lite-260128",
            "prompt": PROMPT,
            "size": "2K",
            "sequential_image_generation": "disabled",
            "sequential_image_generation_options": {"max_images": 1},
            "watermark": True,
            "response_format": "url",
            "output_format": "jpeg",
            "async": True,
        },
    ),
]


@pytest.mark.parametrize(("overrides", "options", "expected"), GOLDEN_BODIES)
def test_outgoing_body(
    emulator: AceDataEmulator,
    overrides: dict[str, Any],
    options: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    outcomes = run(emulator, make_request(**overrides), **options)

    assert emulator.requests[0].body == expected
    assert images_of(outcomes)  # and the emulator, which validates like Ace, accepted it


# --- refused before any call -------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"model": "dreamina-3.1"}, "does not serve dreamina-3.1"),
        (
            {"model": "seedream-3.0-t2i", "size": "1024x1024", "aspect_ratio": "", "max_images": 2},
            "one image per request",
        ),
        ({"output_format": "png"}, "JPEG images only"),
    ],
)
def test_what_ace_cannot_do_is_refused_before_any_call(
    emulator: AceDataEmulator, overrides: dict[str, Any], words: str
) -> None:
    assert words in refused(emulator, make_request(**overrides)).message


def test_a_seed_goes_to_seedream_3_only(emulator: AceDataEmulator) -> None:
    # Seed 002: "Only doubao-seedream-3.0-t2i supports this parameter ... other models do not
    # accept this parameter". Ark takes SeedEdit's seed, so the refusal may fail over.
    seededit = make_request(
        model="seededit-3.0-i2i",
        size="adaptive",
        aspect_ratio="",
        width=1024,
        height=1024,
        seed=7,
        references=(ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png"),),
    )

    error = refused(emulator, seededit)

    assert error.failover_safe is True
    assert "seed" in error.message


def test_the_emulator_refuses_a_seed_for_seededit(emulator: AceDataEmulator) -> None:
    with httpx.Client(transport=emulator.transport()) as client:
        response = client.post(
            f"{emulator.base_url}/seedream/images",
            json={
                "model": "doubao-seededit-3-0-i2i-250628",
                "prompt": PROMPT,
                "size": "adaptive",
                "image": [PNG_DATA_URI],
                "seed": 7,
            },
            headers={"Authorization": "Bearer test-key"},
        )

    assert response.status_code == 400
    assert "seed" in response.json()["error"]["message"]


# --- faults and provider errors ----------------------------------------------------------


def test_an_empty_account_is_a_quota_error() -> None:
    error = failure_of(AceDataEmulator(out_of_balance=True), make_request())

    assert type(error) is QuotaError
    assert error.provider_code == "used_up"
    assert error.request_id  # Ace's trace_id, for its support desk


def test_an_abbreviated_model_id_is_a_bad_request(emulator: AceDataEmulator) -> None:
    options = {"model_ids": {"seedream-5.0-lite": "doubao-seedream-5.0-lite"}}

    error = failure_of(emulator, make_request(model="seedream-5.0-lite"), **options)

    assert type(error) is BadRequest
    assert error.message == "bad_request: model is invalid."


@pytest.mark.parametrize(
    ("code", "status", "error_class"),
    [
        ("invalid_token", 401, AuthError),
        ("token_expired", 401, AuthError),
        ("no_token", 400, AuthError),
        ("used_up", 403, QuotaError),
        ("too_many_requests", 429, RateLimited),
        ("bad_request", 400, BadRequest),
        ("no_api", 404, BadRequest),
        ("api_error", 500, Unavailable),
        ("api_error", None, Unavailable),  # a failed task carries no status of its own
        ("something_new", 418, BadRequest),  # an unknown code falls back on the status
        ("something_new", None, Unavailable),
    ],
)
def test_error_codes(code: str, status: int | None, error_class: type[ProviderError]) -> None:
    error = ace_error({"code": code, "message": "no"}, http_status=status, request_id="trace-1")

    assert type(error) is error_class
    assert (error.provider_code, error.request_id) == (code, "trace-1")


def test_the_key_never_appears_in_errors(emulator: AceDataEmulator) -> None:
    secret = "ace-secret-0123456789"

    error = failure_of(emulator, make_request(), api_key=secret)

    assert type(error) is AuthError
    assert secret not in f"{error} {error!r} {error.user_message}"
    echoed = ace_error(
        {"code": "x", "message": f"bad {secret}"}, http_status=400, secrets=(secret,)
    )
    assert secret not in echoed.message
