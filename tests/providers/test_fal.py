"""The fal adapter against its emulator: queue submit, status, result, cancel and faults."""

import base64
import json
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
    ReferenceInput,
    Unavailable,
    build_adapter,
)
from generations.providers.fal import FalAdapter, fal_error
from tests.emulators.base import render_test_image
from tests.emulators.fal import FalEmulator
from tests.providers import support
from tests.providers.support import (
    PROMPT,
    images_of,
    make_request,
    pixels,
)

PNG_REFERENCE = render_test_image(width=64, height=48, fmt="png", seed=5)
PNG_DATA_URI = "data:image/png;base64," + base64.b64encode(PNG_REFERENCE).decode()
REFERENCE_URL = "https://cdn.example/reference.jpg"
REQUESTS = "/fal-ai/bytedance/requests/"
POLICY = "content_policy_violation"


@pytest.fixture
def emulator() -> FalEmulator:
    return FalEmulator()


make_adapter = partial(support.make_adapter, FalAdapter)
refused = partial(support.refusal_before_any_call, FalAdapter)
run = partial(support.generate_on, FalAdapter)
failure_of = partial(support.failure_on, FalAdapter)


# --- submit, poll, done ------------------------------------------------------------------


def test_submit_then_poll_until_the_request_completes(emulator: FalEmulator) -> None:
    adapter = make_adapter(emulator)

    job = adapter.submit(make_request())
    running = adapter.poll(job)
    finished = adapter.poll(job)

    own = f"{emulator.base_url}{REQUESTS}{job.job_id}"
    assert json.loads(json.dumps(job.state)) == job.state  # stored on the attempt as JSON
    assert job.state == {
        "endpoint": "fal-ai/bytedance/seedream/v4/text-to-image",
        "expected_images": 1,
        "status_url": f"{own}/status",
        "response_url": own,
        "cancel_url": f"{own}/cancel",
    }
    assert (running.done, running.provider_status, running.progress) == (
        False,
        "IN_PROGRESS",
        None,
    )
    assert finished.done
    image, usage = finished.outcomes
    assert isinstance(image, ProviderImage)
    assert pixels(image) == (2048, 2048)
    assert (image.index, image.width, image.height, image.mime) == (0, 2048, 2048, "image/jpeg")
    assert image.url is not None
    assert image.url.startswith(f"{emulator.base_url}/files/")
    assert isinstance(usage, ProviderUsage)
    assert usage.generated_images == 1
    assert usage.raw["request_id"] == job.job_id
    submit, *calls = emulator.requests
    assert (submit.method, submit.path) == ("POST", "/fal-ai/bytedance/seedream/v4/text-to-image")
    assert submit.headers["authorization"] == "Key test-key"
    status = ("GET", f"{REQUESTS}{job.job_id}/status")
    assert [(call.method, call.path) for call in calls] == [
        status,
        status,
        ("GET", f"{REQUESTS}{job.job_id}"),
    ]


def test_a_queued_request_reports_no_progress_yet() -> None:
    emulator = FalEmulator(ready_after_polls=2)
    adapter = make_adapter(emulator)
    job = adapter.submit(make_request())

    statuses = [adapter.poll(job) for _ in range(3)]

    assert [(s.done, s.provider_status, s.progress) for s in statuses[:2]] == [
        (False, "IN_QUEUE", 0.0),
        (False, "IN_PROGRESS", None),
    ]
    assert statuses[2].done


def test_image_to_image_uploads_stored_references_to_fals_storage(
    emulator: FalEmulator,
) -> None:
    # fal takes file inputs as URLs ("some models also accept data URIs", none named: fal's CDN
    # page); fal-client uploads bytes with initiate + PUT and sends the `file_url`.
    second = render_test_image(width=32, height=32, fmt="png", seed=8)
    references = (
        ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png"),
        ReferenceInput(content=None, url=REFERENCE_URL, mime="image/jpeg"),
        ReferenceInput(content=second, url=None, mime="image/png"),
    )
    request = make_request(references=references, aspect_ratio="16:9", width=2848, height=1600)

    (image,) = images_of(run(emulator, request))

    assert pixels(image) == (2848, 1600)
    initiate, put, initiate_again, put_again, submit = emulator.requests[:5]
    assert (initiate.method, initiate.path) == ("POST", "/storage/upload/initiate")
    assert initiate.headers["authorization"] == "Key test-key"
    assert initiate.body == {"file_name": "reference.png", "content_type": "image/png"}
    assert (put.method, put_again.method) == ("PUT", "PUT")
    assert "authorization" not in put.headers  # a signed URL: our key stays home
    assert (put.body, put_again.body) == (PNG_REFERENCE, second)
    assert initiate_again.path == "/storage/upload/initiate"
    assert submit.path == "/fal-ai/bytedance/seedream/v4/edit"
    first_url, url_reference, second_url = submit.body["image_urls"]
    assert url_reference == REFERENCE_URL
    with httpx.Client(transport=emulator.transport()) as client:
        assert client.get(first_url).content == PNG_REFERENCE
        assert client.get(second_url).content == second


def test_the_emulator_refuses_a_data_uri_reference(emulator: FalEmulator) -> None:
    with httpx.Client(transport=emulator.transport()) as client:
        response = client.post(
            f"{emulator.base_url}/fal-ai/bytedance/seedream/v4/edit",
            json={"prompt": PROMPT, "image_urls": [PNG_DATA_URI]},
            headers={"Authorization": "Key test-key"},
        )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "image_urls"]


def test_a_failed_storage_upload_stops_before_the_queue_submit(emulator: FalEmulator) -> None:
    emulator.faults.add("server_error", path="/storage/upload/initiate")
    reference = ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png")

    with pytest.raises(Unavailable) as caught:
        run(emulator, make_request(references=(reference,)))

    assert caught.value.failover_safe
    assert [call.path for call in emulator.requests] == ["/storage/upload/initiate"]


# --- the exact outgoing body -------------------------------------------------------------

GOLDEN_BODIES: list[tuple[dict[str, Any], str, dict[str, Any]]] = [
    (  # a tier goes as its pixels, so the tier and the shape both hold
        {},
        "fal-ai/bytedance/seedream/v4/text-to-image",
        {
            "prompt": PROMPT,
            "image_size": {"width": 2048, "height": 2048},
            "num_images": 1,
            "max_images": 1,
        },
    ),
    (  # 4.5, a group of 3 with a reference: the edit endpoint
        {
            "model": "seedream-4.5",
            "aspect_ratio": "16:9",
            "width": 2848,
            "height": 1600,
            "max_images": 3,
            "references": (ReferenceInput(content=None, url=REFERENCE_URL, mime="image/jpeg"),),
        },
        "fal-ai/bytedance/seedream/v4.5/edit",
        {  # three images asked for: three generations of one (the exact form), not "up to 3"
            "prompt": PROMPT,
            "image_size": {"width": 2848, "height": 1600},
            "num_images": 3,
            "max_images": 1,
            "image_urls": [REFERENCE_URL],
        },
    ),
    (  # an explicit size, and a seed (fal honours it; the catalog normally forbids it on 4.x)
        {"size": "1280x720", "aspect_ratio": "", "width": 1280, "height": 720, "seed": 42},
        "fal-ai/bytedance/seedream/v4/text-to-image",
        {
            "prompt": PROMPT,
            "image_size": {"width": 1280, "height": 720},
            "num_images": 1,
            "max_images": 1,
            "seed": 42,
        },
    ),
    (  # 4K at 16:9: a side past 4096, within fal's 4096*4096 total-pixel limit
        {"model": "seedream-4.5", "size": "4K", "aspect_ratio": "16:9"}
        | {"width": 5504, "height": 3040},
        "fal-ai/bytedance/seedream/v4.5/text-to-image",
        {
            "prompt": PROMPT,
            "image_size": {"width": 5504, "height": 3040},
            "num_images": 1,
            "max_images": 1,
        },
    ),
]


@pytest.mark.parametrize(("overrides", "endpoint", "expected"), GOLDEN_BODIES)
def test_outgoing_body(
    emulator: FalEmulator, overrides: dict[str, Any], endpoint: str, expected: dict[str, Any]
) -> None:
    outcomes = run(emulator, make_request(**overrides))

    submit = emulator.requests[0]
    assert submit.path == f"/{endpoint}"
    assert submit.body == expected
    assert images_of(outcomes)  # and the emulator, which validates like fal, took it


def test_exactly_the_images_asked_for_come_back(emulator: FalEmulator) -> None:
    outcomes = run(emulator, make_request(max_images=4))

    assert len(images_of(outcomes)) == 4
    assert emulator.requests[0].body["num_images"] == 4


@pytest.mark.parametrize(
    ("endpoint", "size", "status"),
    [
        ("v4.5/text-to-image", {"width": 5504, "height": 3040}, 200),  # 16.7 MP
        ("v4.5/text-to-image", {"width": 1920, "height": 1920}, 200),  # sides in 1920-4096
        ("v4.5/text-to-image", {"width": 5000, "height": 3400}, 422),  # 17 MP
        ("v4.5/text-to-image", {"width": 1280, "height": 720}, 422),  # under 2560*1440
        ("v4/text-to-image", {"width": 5000, "height": 3400}, 422),
    ],
)
def test_the_emulator_applies_fals_pixel_limit(
    emulator: FalEmulator, endpoint: str, size: dict[str, int], status: int
) -> None:
    with httpx.Client(transport=emulator.transport()) as client:
        response = client.post(
            f"{emulator.base_url}/fal-ai/bytedance/seedream/{endpoint}",
            json={"prompt": PROMPT, "image_size": size},
            headers={"Authorization": f"Key {emulator.api_key}"},
        )

    assert response.status_code == status


def test_the_seed_fal_used_is_kept(emulator: FalEmulator) -> None:
    request = make_request(size="1280x720", aspect_ratio="", width=1280, height=720, seed=42)

    assert run(emulator, request)[-1].raw["seed"] == 42


def test_a_model_id_override_picks_another_root(emulator: FalEmulator) -> None:
    run(emulator, make_request(), model_ids={"seedream-4.0": "fal-ai/bytedance/seedream/v4.5"})

    assert emulator.requests[0].path == "/fal-ai/bytedance/seedream/v4.5/text-to-image"


# --- refused before any call -------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"model": "dreamina-3.1"}, "does not serve dreamina-3.1"),
        ({"model": "seedream-5.0-lite"}, "does not serve seedream-5.0-lite"),
        # fal: "total number of pixels must be between 2560*1440 and 4096*4096" (4.5 schema)
        ({"size": "5000x3400", "aspect_ratio": "", "width": 5000, "height": 3400}, "16,777,216"),
        ({"max_images": 7}, "at most 6 images"),
        (
            {"references": (ReferenceInput(content=None, url=REFERENCE_URL, mime="image/jpeg"),)
             * 11},
            "at most 10 reference images",
        ),
        ({"guidance_scale": 2.5}, "no guidance"),
        ({"watermark": True}, "watermark"),
        ({"output_format": "png"}, "no output format"),
    ],
)  # fmt: skip
def test_what_fal_cannot_do_is_refused_before_any_call(
    emulator: FalEmulator, overrides: dict[str, Any], words: str
) -> None:
    assert words in refused(emulator, make_request(**overrides)).message


def test_an_unknown_endpoint_is_a_bad_request(emulator: FalEmulator) -> None:
    error = failure_of(emulator, make_request(), model_ids={"seedream-4.0": "fal-ai/nope/v9"})

    assert type(error) is BadRequest
    assert error.http_status == 404


# --- faults ------------------------------------------------------------------------------


def test_a_refusal_surfaces_on_the_result_fetch(emulator: FalEmulator) -> None:
    error = failure_of(emulator, make_request(prompt=f"{PROMPT} [fault:refuse]"))

    assert type(error) is ContentRefused
    assert (error.http_status, error.provider_code) == (422, "content_policy_violation")
    assert error.failover_safe is False  # the job ran


def test_a_short_group_reports_the_missing_image(emulator: FalEmulator) -> None:
    emulator.faults.add("partial")

    outcomes = run(emulator, make_request(max_images=3))

    assert [type(outcome) for outcome in outcomes] == [
        ProviderImage,
        ProviderImage,
        ProviderImageFailure,
        ProviderUsage,
    ]
    assert (outcomes[2].index, outcomes[2].code) == (2, "provider_error")
    assert outcomes[-1].generated_images == 2


# --- cancel ------------------------------------------------------------------------------


def test_cancel_reaches_fal_and_the_request_is_canceled(emulator: FalEmulator) -> None:
    adapter = make_adapter(emulator)
    job = adapter.submit(make_request())

    adapter.cancel(job)

    cancel = emulator.requests[-1]
    assert (cancel.method, cancel.path) == ("PUT", f"{REQUESTS}{job.job_id}/cancel")
    assert emulator.jobs[job.job_id].phase == "canceled"
    with pytest.raises(ProviderError) as caught:
        adapter.poll(job)
    assert caught.value.code == "job_canceled"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"detail": [{"loc": ["body", "prompt"], "msg": "flagged", "type": POLICY}]},
            (POLICY, "flagged"),
        ),
        ({"detail": "Unauthorized"}, ("", "Unauthorized")),
        ({"detail": {"error": POLICY, "message": "no"}}, (POLICY, "no")),
        ({"other": 1}, ("", 'HTTP 400: {"other":1}')),
    ],
)
def test_fal_error_reads_every_detail_shape(
    payload: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert fal_error(httpx.Response(400, json=payload)) == expected


# --- the key -----------------------------------------------------------------------------


def test_check_asks_for_an_unknown_request(emulator: FalEmulator) -> None:
    assert "accepted the key" in make_adapter(emulator).check()
    check = emulator.requests[0]
    assert check.path == f"{REQUESTS}00000000-0000-0000-0000-000000000000/status"


def test_check_with_a_bad_key_is_an_auth_error() -> None:
    emulator = FalEmulator(api_key="another-key")
    secret = "fal-secret-0123456789"
    account = AccountConfig(kind="fal", label="fal", base_url=emulator.base_url, api_key=secret)

    with pytest.raises(AuthError) as caught:
        build_adapter(account, transport=emulator.transport()).check()

    assert secret not in f"{caught.value} {caught.value!r}"


def test_default_base_url() -> None:
    assert FalAdapter.default_base_url == "https://queue.fal.run"


# --- a real socket -----------------------------------------------------------------------
