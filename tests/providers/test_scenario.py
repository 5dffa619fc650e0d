"""The Scenario adapter against its emulator: jobs, assets, sizes, faults, cancel, the wire."""

import base64
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx
import pytest

from generations.providers import (
    AccountConfig,
    AuthError,
    BadRequest,
    ContentRefused,
    JobStatus,
    ProviderError,
    ProviderImage,
    ProviderJob,
    ProviderUsage,
    QuotaError,
    ReferenceInput,
    Unavailable,
    build_adapter,
)
from generations.providers.job_wire import http_error
from generations.providers.scenario import ScenarioAdapter
from tests.emulators.base import render_test_image
from tests.emulators.scenario import ScenarioEmulator
from tests.providers import support
from tests.providers.support import (
    PROMPT,
    Sleeps,
    images_of,
    make_request,
    noisy_png,
    pixels,
    posted_bodies,
    run_job,
)

KEY = "test-key:test-secret"
PNG_REFERENCE = render_test_image(width=64, height=48, fmt="png", seed=3)


@pytest.fixture
def emulator() -> ScenarioEmulator:
    return ScenarioEmulator()


make_adapter = partial(support.make_adapter, ScenarioAdapter, api_key=KEY)
refused = partial(support.refusal_before_any_call, ScenarioAdapter, api_key=KEY)


# --- the job cycle -----------------------------------------------------------------------


def test_submit_then_poll_running_then_done(emulator: ScenarioEmulator) -> None:
    adapter = make_adapter(emulator)

    job = adapter.submit(make_request())
    running = adapter.poll(job)
    done = adapter.poll(job)

    assert job.job_id == "job_0001"
    assert job.state["model_id"] == "model_bytedance-seedream-4-editing"
    assert running == JobStatus(done=False, provider_status="in-progress", progress=0.5)
    assert done.done
    image, usage = done.outcomes
    assert isinstance(image, ProviderImage)
    assert pixels(image) == (2048, 2048)
    assert (image.index, image.width, image.height, image.mime) == (0, 2048, 2048, "image/jpeg")
    assert image.url is not None
    assert image.url.startswith(f"{emulator.base_url}/files/")
    assert isinstance(usage, ProviderUsage)
    assert usage.generated_images == 1
    assert usage.raw["creative_units_cost"] == 10
    launch = emulator.requests[0]
    assert (launch.method, launch.path) == (
        "POST",
        "/v1/generate/custom/model_bytedance-seedream-4-editing",
    )
    token = base64.b64encode(KEY.encode()).decode()
    assert launch.headers["authorization"] == f"Basic {token}"
    assert [call.path for call in emulator.requests[1:]] == [
        "/v1/jobs/job_0001",
        "/v1/jobs/job_0001",
        "/v1/assets/asset_out0002",
    ]


@pytest.mark.parametrize(
    ("overrides", "expected_size"),
    [
        ({"model": "seedream-4.0", "size": "1K", "aspect_ratio": "16:9"}, (1280, 720)),
        ({"model": "seedream-4.5", "size": "4K", "aspect_ratio": "1:1"}, (4096, 4096)),
        (
            {"model": "seedream-5.0-lite", "size": "3K", "aspect_ratio": "21:9"}
            | {"width": 4704, "height": 2016},
            (4704, 2016),
        ),
        (
            {"model": "seedream-3.0-t2i", "size": "1024x768", "aspect_ratio": ""}
            | {"width": 1024, "height": 768},
            (1024, 768),
        ),
        ({"model": "dreamina-3.1", "size": "1K", "aspect_ratio": "16:9"}, (1664, 936)),
    ],
)
def test_text_to_image_per_model(
    emulator: ScenarioEmulator, overrides: dict[str, Any], expected_size: tuple[int, int]
) -> None:
    adapter = make_adapter(emulator)

    (image, usage) = run_job(adapter, make_request(**overrides))

    assert isinstance(image, ProviderImage)
    assert pixels(image) == expected_size
    assert (image.width, image.height) == expected_size
    assert isinstance(usage, ProviderUsage)
    assert usage.generated_images == 1


def test_image_to_image_uploads_every_reference_first(emulator: ScenarioEmulator) -> None:
    adapter = make_adapter(emulator)
    hosted = emulator.store_image(width=40, height=30, fmt="png", seed=9)
    references = (
        ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png"),
        ReferenceInput(content=None, url=hosted, mime="image/png"),
        ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png"),
    )

    job = adapter.submit(make_request(references=references))

    calls = emulator.requests
    assert [call.path for call in calls] == ["/v1/assets"] * 3 + [
        "/v1/generate/custom/model_bytedance-seedream-4-editing"
    ]
    uploaded = [call.body for call in calls[:3]]
    assert uploaded[0] == {
        "image": "data:image/png;base64," + base64.b64encode(PNG_REFERENCE).decode(),
        "name": "reference-1.png",
    }
    assert emulator.assets["asset_0002"]["metadata"]["width"] == 40  # the URL one, copied
    assert calls[3].body["referenceImages"] == ["asset_0001", "asset_0002", "asset_0003"]
    assert job.state["reference_asset_ids"] == ["asset_0001", "asset_0002", "asset_0003"]
    assert adapter.poll(job).done is False
    assert images_of(adapter.poll(job).outcomes)


def test_a_reference_of_6mb_or_more_goes_through_the_multi_part_upload(
    emulator: ScenarioEmulator,
) -> None:
    # "POST /v1/assets - For uploading small images (< 6MB) ... POST /v1/uploads - For
    # uploading larger images (≥ 6MB)" (Scenario's Uploading Assets guide).
    sleeps = Sleeps()
    adapter = make_adapter(emulator, sleeps=sleeps)
    large = noisy_png(at_least_bytes=8_000_000)  # two parts of about 7 MiB
    references = (
        ReferenceInput(content=large, url=None, mime="image/png"),
        ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png"),
    )

    job = adapter.submit(make_request(references=references))

    calls = emulator.requests
    assert [(call.method, call.path) for call in calls] == [
        ("POST", "/v1/uploads"),
        ("PUT", "/part-storage/upload_0001/1"),
        ("PUT", "/part-storage/upload_0001/2"),
        ("POST", "/v1/uploads/upload_0001/action"),
        ("GET", "/v1/uploads/upload_0001"),
        ("POST", "/v1/assets"),
        ("POST", "/v1/generate/custom/model_bytedance-seedream-4-editing"),
    ]
    assert calls[0].body == {
        "fileName": "reference-1.png",
        "contentType": "image/png",
        "fileSize": len(large),
        "parts": 2,
        "kind": "image",
    }
    assert all("authorization" not in call.headers for call in calls[1:3])
    assert calls[3].body == {"action": "complete"}
    assert sleeps == [1.0]  # one wait for the import
    large_asset, small_asset = calls[-1].body["referenceImages"]
    with httpx.Client(transport=emulator.transport()) as client:
        assert client.get(emulator.assets[large_asset]["url"]).content == large
    assert small_asset != large_asset
    assert job.state["reference_asset_ids"] == [large_asset, small_asset]


def test_the_emulator_refuses_an_asset_upload_of_6mb_or_more(emulator: ScenarioEmulator) -> None:
    large = noisy_png(at_least_bytes=6_000_000)
    token = base64.b64encode(KEY.encode()).decode()
    with httpx.Client(transport=emulator.transport()) as client:
        response = client.post(
            f"{emulator.api_url}/assets",
            json={"image": base64.b64encode(large).decode(), "name": "large.png"},
            headers={"Authorization": f"Basic {token}"},
        )

    assert response.status_code == 400
    assert "/v1/uploads" in response.json()["message"]


def test_a_failed_import_is_refused_before_the_launch(emulator: ScenarioEmulator) -> None:
    adapter = make_adapter(emulator)
    # Bytes that are no image: Scenario's import fails them after the parts were taken.
    reference = ReferenceInput(content=bytes(6_000_000), url=None, mime="image/png")

    with pytest.raises(BadRequest) as caught:
        adapter.submit(make_request(references=(reference,)))

    assert "could not import" in caught.value.message
    assert not any(call.path.startswith("/v1/generate") for call in emulator.requests)


def test_a_group_names_each_result_asset(emulator: ScenarioEmulator) -> None:
    adapter = make_adapter(emulator)

    outcomes = run_job(adapter, make_request(max_images=4))

    usage = outcomes[-1]
    assert isinstance(usage, ProviderUsage)
    assert len(set(usage.raw["asset_ids"])) == 4


def test_dreamina_custom_size_and_seed(emulator: ScenarioEmulator) -> None:
    adapter = make_adapter(emulator)
    request = make_request(
        model="dreamina-3.1", size="1500x900", aspect_ratio="", width=1500, height=900, seed=42
    )

    (image, _usage) = run_job(adapter, request)

    assert posted_bodies(emulator, "/generate/custom/") == [
        {"prompt": PROMPT, "aspectRatio": "custom", "width": 1500, "height": 900, "seed": 42}
    ]
    assert emulator.requests[0].path == "/v1/generate/custom/model_bytedance-dreamina-3-1"
    assert isinstance(image, ProviderImage)
    assert pixels(image) == (1500, 900)


def test_the_launch_id_may_come_as_id() -> None:
    emulator = ScenarioEmulator(launch_id_field="id")
    adapter = make_adapter(emulator)

    job = adapter.submit(make_request())

    assert job.job_id == "job_0001"
    assert images_of(run_job(adapter, make_request()))


class OddStatusEmulator(ScenarioEmulator):
    """Says "warming-up" where the Scenario emulator says "in-progress"."""

    def _job_record(self, job: Any) -> dict[str, Any]:
        record = super()._job_record(job)
        if record["status"] == "in-progress":
            record["status"] = "warming-up"
        return record


def test_an_unknown_status_counts_as_running() -> None:
    adapter = make_adapter(OddStatusEmulator())
    job = adapter.submit(make_request())

    assert adapter.poll(job) == JobStatus(done=False, provider_status="warming-up", progress=0.5)
    assert adapter.poll(job).done is True


# --- golden wire bodies ------------------------------------------------------------------

GOLDEN = [
    (
        {"model": "seedream-4.0", "size": "2K", "aspect_ratio": "16:9", "width": 2848}
        | {"height": 1600},
        {
            "prompt": PROMPT,
            "size": "2K",
            "aspectRatio": "16:9",
            "sequentialImageGeneration": "disabled",
            "maxImages": 1,
        },
    ),
    (
        {"model": "seedream-4.5", "size": "4K", "width": 4096, "height": 4096, "max_images": 3},
        {
            "prompt": PROMPT,
            "size": "4K",
            "aspectRatio": "1:1",
            "sequentialImageGeneration": "auto",
            "maxImages": 3,
        },
    ),
    (
        {"model": "seedream-5.0-lite", "size": "3K", "aspect_ratio": "21:9", "width": 4704}
        | {"height": 2016},
        {
            "prompt": PROMPT,
            "aspectRatio": "21:9",
            "width": 4704,
            "height": 2016,
            "sequentialImageGeneration": "disabled",
            "maxImages": 1,
        },
    ),
    (
        {"model": "seedream-5.0-lite", "size": "2560x1440", "aspect_ratio": "", "width": 2560}
        | {"height": 1440, "max_images": 2},
        {
            "prompt": PROMPT,
            "width": 2560,
            "height": 1440,
            "sequentialImageGeneration": "auto",
            "maxImages": 2,
        },
    ),
    (
        {"model": "seedream-3.0-t2i", "size": "1024x768", "aspect_ratio": "", "width": 1024}
        | {"height": 768, "seed": 7},
        {"prompt": PROMPT, "width": 1024, "height": 768, "seed": 7},
    ),
    (
        {"model": "dreamina-3.1", "size": "2K", "aspect_ratio": "9:21", "width": 1296}
        | {"height": 3024},
        {"prompt": PROMPT, "resolution": "2K", "aspectRatio": "9:21"},
    ),
]


@pytest.mark.parametrize(("overrides", "expected"), GOLDEN)
def test_outgoing_launch_body(
    emulator: ScenarioEmulator, overrides: dict[str, Any], expected: dict[str, Any]
) -> None:
    adapter = make_adapter(emulator)

    adapter.submit(make_request(**overrides))

    assert posted_bodies(emulator, "/generate/custom/") == [expected]


def test_outgoing_launch_body_with_references(emulator: ScenarioEmulator) -> None:
    adapter = make_adapter(emulator)
    reference = ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png")

    adapter.submit(make_request(model="seedream-4.5", references=(reference, reference)))

    assert posted_bodies(emulator, "/generate/custom/") == [
        {
            "prompt": PROMPT,
            "size": "2K",
            "aspectRatio": "1:1",
            "sequentialImageGeneration": "disabled",
            "maxImages": 1,
            "referenceImages": ["asset_0001", "asset_0002"],
        }
    ]


def test_model_ids_can_be_overridden(emulator: ScenarioEmulator) -> None:
    adapter = make_adapter(
        emulator, model_ids={"seedream-4.5": "model_bytedance-seedream-4-editing"}
    )

    job = adapter.submit(make_request(model="seedream-4.5"))

    assert job.state["model_id"] == "model_bytedance-seedream-4-editing"
    assert emulator.requests[0].path.endswith("/model_bytedance-seedream-4-editing")


# --- refusals before any call --------------------------------------------------------------

REFERENCE = ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png")
REFUSED = {
    "seedream 3 too wide": {"model": "seedream-3.0-t2i", "size": "2049x1024", "width": 2049}
    | {"height": 1024, "aspect_ratio": ""},
    "seedream 3 too small": {"model": "seedream-3.0-t2i", "size": "500x600", "width": 500}
    | {"height": 600, "aspect_ratio": ""},
    "dreamina too wide": {"model": "dreamina-3.1", "size": "3100x600", "width": 3100}
    | {"height": 600, "aspect_ratio": ""},
    "dreamina too small": {"model": "dreamina-3.1", "size": "511x512", "width": 511}
    | {"height": 512, "aspect_ratio": ""},
    "4.0 explicit size": {"model": "seedream-4.0", "size": "2560x1440", "width": 2560}
    | {"height": 1440, "aspect_ratio": ""},
    "4.5 has no 1K": {"model": "seedream-4.5", "size": "1K", "width": 1024, "height": 1024},
    "5.0 lite side under 1024": {"model": "seedream-5.0-lite", "size": "1000x4000"}
    | {"width": 1000, "height": 4000, "aspect_ratio": ""},
    # Seed 000: 5.0 Lite's width is 1024-4704 and its height 1024-4096 at Scenario.
    "5.0 lite wider than 4704": {"model": "seedream-5.0-lite", "size": "4800x2000"}
    | {"width": 4800, "height": 2000, "aspect_ratio": ""},
    "5.0 lite taller than 4096": {"model": "seedream-5.0-lite", "size": "2000x4200"}
    | {"width": 2000, "height": 4200, "aspect_ratio": ""},
    "seededit not served": {"model": "seededit-3.0-i2i", "size": "adaptive", "aspect_ratio": ""}
    | {"references": (REFERENCE,)},
    "4.5 takes 10 references": {"model": "seedream-4.5", "references": (REFERENCE,) * 11},
    "references plus images over 15": {"references": (REFERENCE,) * 5, "max_images": 11},
    "dreamina takes no references": {"model": "dreamina-3.1", "references": (REFERENCE,)},
    "dreamina makes one image": {"model": "dreamina-3.1", "max_images": 2},
    "no seed on 4.0": {"seed": 5},
    "no guidance scale": {"model": "seedream-3.0-t2i", "size": "1024x1024", "guidance_scale": 3.0}
    | {"aspect_ratio": "", "width": 1024, "height": 1024},
    "no png": {"model": "seedream-5.0-lite", "output_format": "png"},
    "no watermark": {"watermark": True},
}


@pytest.mark.parametrize("overrides", REFUSED.values(), ids=REFUSED.keys())
def test_what_scenario_cannot_do_is_refused_before_any_call(
    emulator: ScenarioEmulator, overrides: dict[str, Any]
) -> None:
    refused(emulator, make_request(**overrides))


@pytest.mark.parametrize("api_key", ["no-colon", ":secret-only", "key-only:"])
def test_a_key_without_its_secret_fails_before_any_call(
    emulator: ScenarioEmulator, api_key: str
) -> None:
    adapter = make_adapter(emulator, api_key=api_key)

    with pytest.raises(AuthError, match="API_KEY:API_SECRET"):
        adapter.submit(make_request())

    assert emulator.requests == []


# --- faults --------------------------------------------------------------------------------


def test_a_failed_upload_stops_before_the_paid_launch(emulator: ScenarioEmulator) -> None:
    adapter = make_adapter(emulator)
    emulator.faults.add("server_error", path="/assets")

    with pytest.raises(Unavailable) as caught:
        adapter.submit(make_request(references=(REFERENCE,)))

    assert caught.value.failover_safe
    assert posted_bodies(emulator, "/generate/custom/") == []


def test_a_refused_prompt_fails_the_job_as_content_refused(emulator: ScenarioEmulator) -> None:
    adapter = make_adapter(emulator)
    job = adapter.submit(make_request(prompt=f"{PROMPT} [fault:refuse]"))

    with pytest.raises(ContentRefused) as caught:
        adapter.poll(job)

    assert caught.value.failover_safe is False
    assert "moderation" in str(caught.value)


@pytest.mark.parametrize("failure_field", ["metadata", "job"])
def test_a_refusal_is_read_from_metadata_error_or_the_job_error(failure_field: str) -> None:
    # Scenario's SDK models the failure reason as `job.metadata.error`; older copies show a
    # top-level `job.error`. Either way a moderation refusal is a refusal, with its message.
    emulator = ScenarioEmulator(failure_field=failure_field)
    adapter = make_adapter(emulator)
    job = adapter.submit(make_request(prompt=f"{PROMPT} [fault:refuse]"))

    with pytest.raises(ContentRefused, match="content moderation"):
        adapter.poll(job)


def test_metadata_error_wins_over_a_generic_top_level_error() -> None:
    emulator = ScenarioEmulator(failure_field="both")  # `job.error` says only "Job failed"
    adapter = make_adapter(emulator)
    job = adapter.submit(make_request(prompt=f"{PROMPT} [fault:refuse]"))

    with pytest.raises(ContentRefused, match="content moderation"):
        adapter.poll(job)


# --- cancel, check, blocking generate ----------------------------------------------------


def test_cancel_stops_the_job(emulator: ScenarioEmulator) -> None:
    adapter = make_adapter(emulator)
    job = adapter.submit(make_request())

    adapter.cancel(job)

    assert emulator.requests[-1].path == f"/v1/jobs/{job.job_id}/action"
    assert emulator.requests[-1].body == {"action": "cancel"}
    assert emulator.jobs[job.job_id].phase == "canceled"
    with pytest.raises(Unavailable, match="canceled") as caught:
        adapter.poll(job)
    assert caught.value.failover_safe is False


def test_cancel_of_an_unknown_job_is_quiet(emulator: ScenarioEmulator) -> None:
    adapter = make_adapter(emulator)

    adapter.cancel(ProviderJob(job_id="job_9999", state={"model": "seedream-4.0"}))

    assert emulator.requests[-1].path == "/v1/jobs/job_9999/action"


def test_check_proves_the_key(emulator: ScenarioEmulator) -> None:
    adapter = make_adapter(emulator)

    assert adapter.check() == "Scenario accepted the key (1 model(s) on the first page)"
    assert emulator.requests[0].path == "/v1/models"

    wrong = make_adapter(emulator, api_key="test-key:nope")
    with pytest.raises(AuthError):
        wrong.check()


@pytest.mark.parametrize(
    ("status", "body", "error_class"),
    [
        (403, {"message": "Insufficient creative units", "reason": "forbidden"}, QuotaError),
        (403, {"message": "Forbidden", "reason": "forbidden"}, AuthError),
        (400, {"message": "Prompt flagged as NSFW", "reason": "moderation"}, ContentRefused),
        (404, {"error": {"message": "Model not found", "code": "not_found"}}, BadRequest),
        (410, {"message": "SD 1.5 inference is no longer available"}, BadRequest),
        (502, None, Unavailable),
    ],
)
def test_http_errors(status: int, body: Any, error_class: type[ProviderError]) -> None:
    response = httpx.Response(status, json=body) if body else httpx.Response(status, text="<html>")

    error = http_error(response, secrets=())

    assert type(error) is error_class


def test_an_unknown_model_id_is_a_bad_request(emulator: ScenarioEmulator) -> None:
    adapter = make_adapter(emulator, model_ids={"seedream-4.0": "model_retired"})

    with pytest.raises(BadRequest, match="not found") as caught:
        adapter.submit(make_request())

    assert caught.value.http_status == 404


EMULATOR_REFUSALS = {
    "unknown parameter": ("model_bytedance-seedream-4-editing", {"steps": 30}),
    "4.5 has no 1K": ("model_bytedance-seedream-4-5-editing", {"size": "1K"}),
    "unknown asset": ("model_bytedance-seedream-4-editing", {"referenceImages": ["asset_x"]}),
    "too many images": ("model_bytedance-seedream-4-editing", {"maxImages": 16}),
    "seedream 3 too tall": ("model_bytedance-seedream-3", {"width": 512, "height": 4096}),
    "dreamina sides need custom": ("model_bytedance-dreamina-3-1", {"width": 800}),
    "no seed on 4.0": ("model_bytedance-seedream-4-editing", {"seed": 1}),
    # Seed 000's min/max columns for Seedream 5.0 Lite.
    "5.0 lite too wide": ("model_bytedance-seedream-5-0-lite", {"width": 4800, "height": 2000}),
    "5.0 lite too tall": ("model_bytedance-seedream-5-0-lite", {"width": 2000, "height": 4200}),
}


@pytest.mark.parametrize(("model_id", "extra"), EMULATOR_REFUSALS.values(), ids=EMULATOR_REFUSALS)
def test_the_emulator_refuses_what_scenario_refuses(
    emulator: ScenarioEmulator, model_id: str, extra: dict[str, Any]
) -> None:
    token = base64.b64encode(KEY.encode()).decode()
    with httpx.Client(transport=emulator.transport()) as client:
        response = client.post(
            f"{emulator.api_url}/generate/custom/{model_id}",
            json={"prompt": PROMPT, **extra},
            headers={"Authorization": f"Basic {token}"},
        )

    assert response.status_code == 400
    assert set(response.json()) == {"message", "reason"}
    assert emulator.jobs == {}


def test_over_a_loopback_port_with_timed_jobs_in_parallel() -> None:
    emulator = ScenarioEmulator(job_seconds=0.3)
    with emulator.serve() as base_url:
        account = AccountConfig(
            kind="scenario", label="Scenario", base_url=emulator.api_url, api_key=KEY
        )
        adapter = build_adapter(account)
        assert isinstance(adapter, ScenarioAdapter)
        job = adapter.submit(make_request(references=(REFERENCE,)))
        first = adapter.poll(job)
        # The server is threaded: several blocking generates at once share the emulator.
        with ThreadPoolExecutor(max_workers=3) as pool:
            runs = list(
                pool.map(
                    lambda count: list(adapter.generate(make_request(max_images=count))),
                    [1, 2, 3],
                )
            )

    assert first.done is False
    assert first.progress is not None
    assert first.progress < 1
    for count, outcomes in zip([1, 2, 3], runs, strict=True):
        images = images_of(outcomes)
        assert [image.index for image in images] == list(range(count))
        assert all(image.url and image.url.startswith(base_url) for image in images)
        assert all(pixels(image) == (2048, 2048) for image in images)
    assert len(emulator.jobs) == 4
