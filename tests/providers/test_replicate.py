"""The Replicate adapter against its emulator: submit, poll, cancel, outputs and faults."""

import base64
import json
import time
from functools import partial
from typing import Any

import httpx
import pytest

from generations.providers import (
    AccountConfig,
    AuthError,
    BadRequest,
    ContentRefused,
    ProviderError,
    ProviderImage,
    ProviderImageFailure,
    ProviderUsage,
    RateLimited,
    ReferenceInput,
    Unavailable,
    build_adapter,
)
from generations.providers.job_wire import same_origin_url, seconds_between
from generations.providers.replicate import ReplicateAdapter, prediction_error
from tests.emulators.base import render_test_image
from tests.emulators.replicate import REFUSAL_TEXT, ReplicateEmulator
from tests.providers import support
from tests.providers.support import (
    PROMPT,
    images_of,
    make_request,
    noisy_png,
    pixels,
)

PNG_REFERENCE = render_test_image(width=64, height=48, fmt="png", seed=5)
PNG_DATA_URI = "data:image/png;base64," + base64.b64encode(PNG_REFERENCE).decode()
REFERENCE_URL = "https://cdn.example/reference.jpg"
PREDICTIONS = "/v1/predictions/"


@pytest.fixture
def emulator() -> ReplicateEmulator:
    return ReplicateEmulator()


make_adapter = partial(support.make_adapter, ReplicateAdapter)
refused = partial(support.refusal_before_any_call, ReplicateAdapter)
run = partial(support.generate_on, ReplicateAdapter)
failure_of = partial(support.failure_on, ReplicateAdapter)


# --- submit, poll, done ------------------------------------------------------------------


def test_submit_then_poll_until_the_prediction_succeeds(emulator: ReplicateEmulator) -> None:
    adapter = make_adapter(emulator)

    job = adapter.submit(make_request())
    running = adapter.poll(job)
    finished = adapter.poll(job)

    assert job.job_id in emulator.jobs
    assert json.loads(json.dumps(job.state)) == job.state  # stored on the attempt as JSON
    assert job.state["get_url"] == f"{emulator.base_url}/v1/predictions/{job.job_id}"
    assert (running.done, running.provider_status, running.progress) == (False, "processing", None)
    assert finished.done
    image, usage = finished.outcomes
    assert isinstance(image, ProviderImage)
    assert pixels(image) == (2048, 2048)
    assert (image.index, image.width, image.height, image.mime) == (0, 2048, 2048, "image/jpeg")
    assert image.url is not None
    assert image.url.startswith(f"{emulator.base_url}/files/")
    assert isinstance(usage, ProviderUsage)
    assert usage.generated_images == 1
    assert usage.raw["model"] == "bytedance/seedream-4"
    assert usage.raw["prediction_id"] == job.job_id
    create, *polls = emulator.requests
    assert (create.method, create.path) == ("POST", "/v1/models/bytedance/seedream-4/predictions")
    assert create.headers["authorization"] == "Bearer test-key"
    assert [(poll.method, poll.path) for poll in polls] == [("GET", PREDICTIONS + job.job_id)] * 2


def test_a_finished_prediction_tells_how_long_it_ran_by_replicates_clock() -> None:
    emulator = ReplicateEmulator(job_seconds=0.3)
    adapter = make_adapter(emulator, prefer_wait_s=0)

    job = adapter.submit(make_request())
    running = adapter.poll(job)
    time.sleep(0.5)  # noticed late: the figure is still the job's own 0.3 s
    finished = adapter.poll(job)

    assert (running.done, running.ran_s) == (False, None)
    assert finished.done
    assert finished.ran_s == pytest.approx(0.3, abs=0.01)


@pytest.mark.parametrize(
    ("started", "ended", "seconds"),
    [
        ("2025-01-02T03:04:05.250Z", "2025-01-02T03:04:15.750Z", 10.5),
        ("2025-01-02T03:04:05.123456789Z", "2025-01-02T03:04:06.123456Z", 1.0),  # nanoseconds
        ("2025-01-02T03:04:05+00:00", "2025-01-02T04:04:06+01:00", 1.0),  # another zone
        ("2025-01-02T03:04:06Z", "2025-01-02T03:04:05Z", None),  # backwards
        ("2025-01-02T03:04:05Z", None, None),  # not finished
        ("2025-01-02T03:04:05", "2025-01-02T03:04:06Z", None),  # one without a zone
        ("yesterday", "2025-01-02T03:04:06Z", None),
        (1735787045, 1735787046, None),  # not the documented strings
    ],
)
def test_seconds_between_reply_timestamps(started: Any, ended: Any, seconds: float | None) -> None:
    assert seconds_between(started, ended) == (None if seconds is None else pytest.approx(seconds))


def test_a_queued_prediction_reports_no_progress_yet() -> None:
    emulator = ReplicateEmulator(ready_after_polls=3)
    adapter = make_adapter(emulator)
    job = adapter.submit(make_request())

    statuses = [adapter.poll(job) for _ in range(4)]

    assert [(s.done, s.provider_status) for s in statuses] == [
        (False, "starting"),
        (False, "starting"),
        (False, "processing"),
        (True, "succeeded"),
    ]
    assert statuses[0].progress == 0.0


def test_image_to_image_sends_every_reference(emulator: ReplicateEmulator) -> None:
    references = (
        ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png"),
        ReferenceInput(content=None, url=REFERENCE_URL, mime="image/jpeg"),
        ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png"),
    )
    request = make_request(references=references, aspect_ratio="16:9", width=2848, height=1600)

    (image,) = images_of(run(emulator, request))

    assert pixels(image) == (2848, 1600)
    sent = emulator.requests[0].body["input"]
    assert sent["image_input"] == [PNG_DATA_URI, REFERENCE_URL, PNG_DATA_URI]
    assert sent["aspect_ratio"] == "16:9"


def test_a_reference_of_1mb_or_more_is_uploaded_and_sent_as_its_file_url(
    emulator: ReplicateEmulator,
) -> None:
    # Data URIs are "only recommended if the file is less than 1MB" (replicate.com/docs/topics/
    # predictions/input-files); larger files go through `POST /v1/files`, as Replicate's
    # clients do (replicate-python `replicate/file.py`, `helpers.encode_json`).
    large = noisy_png(at_least_bytes=1_000_000)
    references = (
        ReferenceInput(content=large, url=None, mime="image/png"),
        ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png"),
    )

    (image,) = images_of(run(emulator, make_request(references=references)))

    upload, create = emulator.requests[:2]
    assert (upload.method, upload.path) == ("POST", "/v1/files")
    assert upload.headers["authorization"] == "Bearer test-key"
    ((file_id, (stored, content_type)),) = emulator.uploaded_files.items()
    assert (stored, content_type) == (large, "image/png")
    sent = create.body["input"]["image_input"]
    assert sent == [f"{emulator.base_url}/v1/files/{file_id}", PNG_DATA_URI]
    assert pixels(image) == (2048, 2048)


def test_the_emulator_refuses_a_data_uri_of_1mb_or_more(emulator: ReplicateEmulator) -> None:
    large = noisy_png(at_least_bytes=1_000_000)
    data_uri = "data:image/png;base64," + base64.b64encode(large).decode()
    with httpx.Client(transport=emulator.transport()) as client:
        response = client.post(
            f"{emulator.base_url}/v1/models/bytedance/seedream-4/predictions",
            json={"input": {"prompt": PROMPT, "image_input": [data_uri]}},
            headers={"Authorization": "Bearer test-key"},
        )

    assert response.status_code == 422
    assert "under 1MB" in response.json()["detail"]


def test_a_failed_upload_stops_before_the_paid_create(emulator: ReplicateEmulator) -> None:
    emulator.faults.add("server_error", path="/v1/files")  # consumed by the upload only
    large = noisy_png(at_least_bytes=1_000_000)
    request = make_request(references=(ReferenceInput(content=large, url=None, mime="image/png"),))

    with pytest.raises(Unavailable) as caught:
        run(emulator, request)

    assert caught.value.failover_safe
    assert [call.path for call in emulator.requests] == ["/v1/files"]


# --- the exact outgoing body -------------------------------------------------------------

GOLDEN_BODIES: list[tuple[dict[str, Any], dict[str, Any], str, dict[str, Any]]] = [
    (  # a tier with its aspect ratio; group fields and enhance_prompt (off) always explicit
        {},
        {},
        "bytedance/seedream-4",
        {
            "prompt": PROMPT,
            "size": "2K",
            "aspect_ratio": "1:1",
            "sequential_image_generation": "disabled",
            "max_images": 1,
            "enhance_prompt": False,
        },
    ),
    (  # an explicit size is `custom` with width/height, no aspect ratio
        {"model": "seedream-4.5", "size": "3000x2000", "aspect_ratio": "", "width": 3000,
         "height": 2000},
        {},
        "bytedance/seedream-4.5",
        {
            "prompt": PROMPT,
            "size": "custom",
            "width": 3000,
            "height": 2000,
            "sequential_image_generation": "disabled",
            "max_images": 1,
            "enhance_prompt": False,
        },
    ),
    (  # 5.0 lite: a PNG group of 3 at 3K 16:9 with a URL reference
        {
            "model": "seedream-5.0-lite",
            "size": "3K",
            "aspect_ratio": "16:9",
            "width": 4096,
            "height": 2304,
            "max_images": 3,
            "output_format": "png",
            "references": (ReferenceInput(content=None, url=REFERENCE_URL, mime="image/jpeg"),),
        },
        {},
        "bytedance/seedream-5-lite",
        {
            "prompt": PROMPT,
            "size": "3K",
            "aspect_ratio": "16:9",
            "image_input": [REFERENCE_URL],
            "sequential_image_generation": "auto",
            "max_images": 3,
            "enhance_prompt": False,
            "output_format": "png",
        },
    ),
    (  # references and no aspect ratio: match the input image
        {
            "aspect_ratio": "",
            "references": (ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png"),),
        },
        {},
        "bytedance/seedream-4",
        {
            "prompt": PROMPT,
            "size": "2K",
            "aspect_ratio": "match_input_image",
            "image_input": [PNG_DATA_URI],
            "sequential_image_generation": "disabled",
            "max_images": 1,
            "enhance_prompt": False,
        },
    ),
    (  # no references and no aspect ratio: square
        {"aspect_ratio": "", "size": "4K", "width": 4096, "height": 4096},
        # an account override, and prompt enhancement turned on for the account
        {"model_ids": {"seedream-4.0": "bytedance/seedream-4.5"}, "enhance_prompt": True},
        "bytedance/seedream-4.5",
        {
            "prompt": PROMPT,
            "size": "4K",
            "aspect_ratio": "1:1",
            "sequential_image_generation": "disabled",
            "max_images": 1,
            "enhance_prompt": True,
        },
    ),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "options", "model", "expected"), GOLDEN_BODIES)
def test_outgoing_body(
    emulator: ReplicateEmulator,
    overrides: dict[str, Any],
    options: dict[str, Any],
    model: str,
    expected: dict[str, Any],
) -> None:
    outcomes = run(emulator, make_request(**overrides), **options)

    create = emulator.requests[0]
    assert create.path == f"/v1/models/{model}/predictions"
    assert create.body == {"input": expected}
    assert images_of(outcomes)  # and the emulator, which validates like Replicate, took it


# --- refused before any call -------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"model": "dreamina-3.1"}, "does not serve dreamina-3.1"),
        ({"model": "seededit-3.0-i2i", "size": "adaptive", "aspect_ratio": ""}, "does not serve"),
        ({"size": "1280x720", "aspect_ratio": "", "width": 1280, "height": 720}, "1024-4096"),
        ({"size": "4608x1024", "aspect_ratio": "", "width": 4608, "height": 1024}, "1024-4096"),
        (
            {"model": "seedream-5.0-lite", "size": "2560x1440", "width": 2560, "height": 1440},
            "takes only the sizes 2K, 3K",
        ),
        ({"model": "seedream-4.5", "size": "1K", "width": 1024, "height": 1024}, "2K, 4K"),
        ({"aspect_ratio": "9:21"}, "aspect ratios"),
        ({"seed": 7}, "no seed"),
        ({"guidance_scale": 2.5}, "no seed or guidance"),
        ({"watermark": True}, "no watermark"),
        ({"output_format": "png"}, "JPEG images only"),
        (
            {"references": (ReferenceInput(content=None, url=REFERENCE_URL, mime="image/jpeg"),)
             * 11},
            "at most 10 reference images",
        ),
    ],
)  # fmt: skip
def test_what_replicate_cannot_do_is_refused_before_any_call(
    emulator: ReplicateEmulator, overrides: dict[str, Any], words: str
) -> None:
    assert words in refused(emulator, make_request(**overrides)).message


def test_input_the_model_refuses_is_a_bad_request(emulator: ReplicateEmulator) -> None:
    # The 4.0 catalog id takes 1K, but the account sends it to 4.5, whose schema has no 1K.
    options = {"model_ids": {"seedream-4.0": "bytedance/seedream-4.5"}}
    request = make_request(size="1K", width=1024, height=1024)

    error = failure_of(emulator, request, **options)

    assert type(error) is BadRequest
    assert error.http_status == 422
    assert "input.size" in error.message


def test_an_unknown_model_path_is_a_bad_request(emulator: ReplicateEmulator) -> None:
    error = failure_of(emulator, make_request(), model_ids={"seedream-4.0": "bytedance/nope"})

    assert type(error) is BadRequest
    assert error.http_status == 404


# --- faults ------------------------------------------------------------------------------


def test_a_rate_limit_carries_replicates_throttle_message(emulator: ReplicateEmulator) -> None:
    emulator.faults.add("rate_limit", seconds=4)

    with pytest.raises(RateLimited) as caught:
        make_adapter(emulator).submit(make_request())

    assert "throttled" in caught.value.message


def test_a_refused_prediction_is_content_refused(emulator: ReplicateEmulator) -> None:
    error = failure_of(emulator, make_request(prompt=f"{PROMPT} [fault:refuse]"))

    assert type(error) is ContentRefused
    assert error.failover_safe is False
    assert "E005" in error.message


def test_a_short_group_reports_the_missing_image(emulator: ReplicateEmulator) -> None:
    emulator.faults.add("partial")

    outcomes = run(emulator, make_request(max_images=3))

    assert [type(outcome) for outcome in outcomes] == [
        ProviderImage,
        ProviderImage,
        ProviderImageFailure,
        ProviderUsage,
    ]
    assert (outcomes[2].index, outcomes[2].code) == (2, "provider_error")
    assert "2 of the 3" in outcomes[2].message
    assert outcomes[-1].generated_images == 2


# --- cancel ------------------------------------------------------------------------------


def test_cancel_reaches_replicate_and_the_prediction_is_canceled(
    emulator: ReplicateEmulator,
) -> None:
    adapter = make_adapter(emulator)
    job = adapter.submit(make_request())

    adapter.cancel(job)

    cancel = emulator.requests[-1]
    assert (cancel.method, cancel.path) == ("POST", f"{PREDICTIONS}{job.job_id}/cancel")
    assert emulator.jobs[job.job_id].phase == "canceled"
    with pytest.raises(ProviderError) as caught:
        adapter.poll(job)
    assert caught.value.code == "job_canceled"


def test_canceling_an_unknown_prediction_is_quiet(emulator: ReplicateEmulator) -> None:
    adapter = make_adapter(emulator)
    job = adapter.submit(make_request())
    emulator.jobs.clear()

    adapter.cancel(job)  # 404: nothing left to stop


@pytest.mark.parametrize(
    ("status", "text", "error_class", "failover_safe"),
    [
        ("failed", REFUSAL_TEXT, ContentRefused, False),
        ("failed", "NSFW content detected in output", ContentRefused, False),
        ("failed", "CUDA out of memory", Unavailable, False),
        ("aborted", "", Unavailable, True),  # Cancel-After before start: never ran, not billed
    ],
)
def test_prediction_errors(
    status: str, text: str, error_class: type[ProviderError], failover_safe: bool
) -> None:
    error = prediction_error(status, text, "p1")

    assert type(error) is error_class
    assert (error.failover_safe, error.request_id) == (failover_safe, "p1")


def test_urls_on_another_host_never_get_the_token() -> None:
    base = "https://api.replicate.com/v1"
    fallback = f"{base}/predictions/p1"

    assert same_origin_url(f"{base}/predictions/p1", base_url=base, fallback="x") == fallback
    assert same_origin_url("https://evil.example/p1", base_url=base, fallback=fallback) == fallback
    assert same_origin_url(None, base_url=base, fallback=fallback) == fallback


# --- the key -----------------------------------------------------------------------------


def test_check_names_the_account(emulator: ReplicateEmulator) -> None:
    assert "seedream-team" in make_adapter(emulator).check()
    assert emulator.requests[0].path == "/v1/account"


def test_check_with_a_bad_token_is_an_auth_error() -> None:
    emulator = ReplicateEmulator(api_key="another-token")
    secret = "r8_secret_0123456789"
    account = AccountConfig(
        kind="replicate", label="R", base_url=f"{emulator.base_url}/v1", api_key=secret
    )

    with pytest.raises(AuthError) as caught:
        build_adapter(account, transport=emulator.transport()).check()

    assert secret not in f"{caught.value} {caught.value!r}"


def test_default_base_url() -> None:
    assert ReplicateAdapter.default_base_url == "https://api.replicate.com/v1"


# --- a real socket -----------------------------------------------------------------------


def test_prompt_enhancement_is_off_unless_the_account_turns_it_on(
    emulator: ReplicateEmulator,
) -> None:
    # Replicate's `enhance_prompt` defaults to true (seed 001): we send it, off by default, and
    # the generation's usage records what was sent.
    usage = run(emulator, make_request())[-1]

    assert emulator.requests[0].body["input"]["enhance_prompt"] is False
    assert usage.raw["enhance_prompt"] is False


def test_an_enhance_prompt_option_that_is_not_a_boolean_is_refused_before_any_call(
    emulator: ReplicateEmulator,
) -> None:
    with pytest.raises(BadRequest, match="enhance_prompt") as caught:
        run(emulator, make_request(), enhance_prompt="yes")

    assert caught.value.failover_safe is True
    assert emulator.requests == []
