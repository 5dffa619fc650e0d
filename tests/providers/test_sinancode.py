"""The SinanCode adapter against its emulator: tasks, sizes, references, faults, the wire."""

import base64
from functools import partial
from typing import Any

import httpx
import pytest

from generations.providers import (
    AuthError,
    BadRequest,
    ContentRefused,
    JobStatus,
    ProviderImage,
    ProviderJob,
    ProviderUsage,
    ReferenceInput,
)
from generations.providers.sinancode import SinanCodeAdapter
from tests.emulators.base import render_test_image
from tests.emulators.sinancode import SinanCodeEmulator
from tests.providers import support
from tests.providers.support import (
    PROMPT,
    StoredReferences,
    images_of,
    make_request,
    pixels,
    posted_bodies,
    run_job,
)

PNG_REFERENCE = render_test_image(width=64, height=48, fmt="png", seed=4)
PNG_DATA_URI = "data:image/png;base64," + base64.b64encode(PNG_REFERENCE).decode()
STORAGE = StoredReferences()
REFERENCE = STORAGE.reference(PNG_REFERENCE)
REFERENCE_URL = "https://media.example/uploads/cat.png"


@pytest.fixture
def emulator() -> SinanCodeEmulator:
    return SinanCodeEmulator()


make_adapter = partial(support.make_adapter, SinanCodeAdapter)
refused = partial(support.refusal_before_any_call, SinanCodeAdapter)


# --- the task cycle ------------------------------------------------------------------------


def test_submit_then_poll_processing_then_completed(emulator: SinanCodeEmulator) -> None:
    adapter = make_adapter(emulator)

    job = adapter.submit(make_request())
    running = adapter.poll(job)
    done = adapter.poll(job)

    assert job.state == {"model": "seedream-4.0", "version": "4.0", "max_images": 1}
    assert running == JobStatus(done=False, provider_status="processing")
    assert done.done
    image, usage = done.outcomes
    assert isinstance(image, ProviderImage)
    assert pixels(image) == (2048, 2048)
    assert (image.index, image.width, image.height, image.mime) == (0, 2048, 2048, "image/jpeg")
    assert image.url is not None
    assert image.url.startswith(f"{emulator.base_url}/files/")
    assert isinstance(usage, ProviderUsage)
    assert usage.generated_images == 1
    assert usage.raw == {
        "provider": "sinancode",
        "version": "4.0",
        "task_id": job.job_id,
        "results": 1,
    }
    submit = emulator.requests[0]
    assert (submit.method, submit.path) == ("POST", "/v1/generate/vol/seedream")
    assert submit.headers["authorization"] == "Bearer test-key"
    assert [call.path for call in emulator.requests[1:]] == [f"/v1/tasks/{job.job_id}"] * 2


@pytest.mark.parametrize(
    ("overrides", "expected_size"),
    [
        ({"model": "seedream-4.0", "size": "1K", "width": 1024, "height": 1024}, (1024, 1024)),
        ({"model": "seedream-4.5", "size": "4K", "width": 4096, "height": 4096}, (4096, 4096)),
        (
            {"model": "seedream-5.0-lite", "size": "2K", "aspect_ratio": "16:9"}
            | {"width": 2848, "height": 1600},
            (2848, 1600),
        ),
        ({"model": "seedream-5.0-lite", "size": "3K", "width": 3072, "height": 3072}, (3072, 3072)),
    ],
)
def test_text_to_image_per_version(
    emulator: SinanCodeEmulator, overrides: dict[str, Any], expected_size: tuple[int, int]
) -> None:
    adapter = make_adapter(emulator)

    image, usage = run_job(adapter, make_request(**overrides))

    assert isinstance(image, ProviderImage)
    assert pixels(image) == expected_size
    assert isinstance(usage, ProviderUsage)
    assert usage.generated_images == 1


def test_image_to_image_sends_every_reference_as_a_url(emulator: SinanCodeEmulator) -> None:
    # SinanCode documents `images` as URLs only (seed 003): stored references go as our signed
    # links, which the emulator fetches; a URL reference goes as it is.
    adapter = make_adapter(emulator)
    second = STORAGE.reference(render_test_image(width=32, height=32, fmt="png", seed=9))
    storage_and_cdn = httpx.MockTransport(
        lambda request: (
            STORAGE.transport().handle_request(request)
            if request.url.host == "studio.example"
            else httpx.Response(200, content=PNG_REFERENCE, headers={"Content-Type": "image/png"})
        )
    )
    emulator.reference_transport = storage_and_cdn
    references = (
        REFERENCE,
        ReferenceInput(content=None, url=REFERENCE_URL, mime="image/png"),
        second,
    )

    outcomes = run_job(adapter, make_request(references=references))

    assert posted_bodies(emulator)[0]["images"] == [REFERENCE.link, REFERENCE_URL, second.link]
    assert [url for url, _ in emulator.fetched_references] == [
        REFERENCE.link,
        REFERENCE_URL,
        second.link,
    ]
    assert emulator.fetched_references[2][1] == second.content
    assert len(images_of(outcomes)) == 1


def test_a_link_sinancode_cannot_fetch_refuses_the_task(emulator: SinanCodeEmulator) -> None:
    adapter = make_adapter(emulator)
    emulator.reference_transport = StoredReferences().transport()  # knows no link: 403
    with pytest.raises(BadRequest) as caught:
        run_job(adapter, make_request(references=(REFERENCE,)))

    assert "HTTP 403" in caught.value.message


def test_result_objects_are_read_too() -> None:
    emulator = SinanCodeEmulator(result_objects=True)
    adapter = make_adapter(emulator)

    outcomes = run_job(adapter, make_request(max_images=2))

    assert [image.index for image in images_of(outcomes)] == [0, 1]


class OddStatusEmulator(SinanCodeEmulator):
    """Says "warming-up" where the SinanCode emulator says "processing"."""

    def _record(self, job: Any) -> dict[str, Any]:
        record = super()._record(job)
        if record["status"] == "processing":
            record["status"] = "warming-up"
        return record


def test_an_unknown_status_counts_as_running() -> None:
    adapter = make_adapter(OddStatusEmulator())
    job = adapter.submit(make_request())

    assert adapter.poll(job) == JobStatus(done=False, provider_status="warming-up")
    assert adapter.poll(job).done is True


# --- golden wire bodies --------------------------------------------------------------------

GOLDEN = {
    "4.0 tier square": (
        {},
        {"prompt": PROMPT, "version": "4.0", "max_images": 1, "size": "2K"},
    ),
    "4.0 1K is not a SinanCode tier": (
        {"size": "1K", "width": 1024, "height": 1024},
        {"prompt": PROMPT, "version": "4.0", "max_images": 1, "size": "1024x1024"},
    ),
    "4.5 tier with a shape": (
        {"model": "seedream-4.5", "size": "4K", "aspect_ratio": "16:9", "width": 5504}
        | {"height": 3040, "max_images": 3},
        {"prompt": PROMPT, "version": "4.5", "max_images": 3, "size": "5504x3040"},
    ),
    "5.0 lite 3K": (
        {"model": "seedream-5.0-lite", "size": "3K", "width": 3072, "height": 3072},
        {"prompt": PROMPT, "version": "5.0-lite", "max_images": 1, "size": "3K"},
    ),
    "5.0 lite explicit size": (
        {"model": "seedream-5.0-lite", "size": "2560x1440", "aspect_ratio": ""}
        | {"width": 2560, "height": 1440},
        {"prompt": PROMPT, "version": "5.0-lite", "max_images": 1, "size": "2560x1440"},
    ),
    "references": (
        {"references": (REFERENCE, REFERENCE), "max_images": 2},
        {
            "prompt": PROMPT,
            "version": "4.0",
            "max_images": 2,
            "size": "2K",
            "images": [REFERENCE.link, REFERENCE.link],
        },
    ),
}


@pytest.mark.parametrize(("overrides", "expected"), GOLDEN.values(), ids=GOLDEN.keys())
def test_outgoing_body(
    emulator: SinanCodeEmulator, overrides: dict[str, Any], expected: dict[str, Any]
) -> None:
    adapter = make_adapter(emulator)

    adapter.submit(make_request(**overrides))

    assert posted_bodies(emulator) == [expected]


def test_versions_can_be_overridden(emulator: SinanCodeEmulator) -> None:
    adapter = make_adapter(emulator, model_ids={"seedream-4.5": "4.0"})

    job = adapter.submit(make_request(model="seedream-4.5"))

    assert job.state["version"] == "4.0"


# --- refusals before any call --------------------------------------------------------------

REFUSED = {
    "seedream 3 not served": {"model": "seedream-3.0-t2i", "size": "1024x1024"}
    | {"aspect_ratio": "", "width": 1024, "height": 1024},
    "seededit not served": {"model": "seededit-3.0-i2i", "size": "adaptive", "aspect_ratio": ""}
    | {"references": (REFERENCE,)},
    "dreamina not served": {"model": "dreamina-3.1", "size": "2K"},
    "15 references": {"references": (REFERENCE,) * 15},
    "references plus images over 15": {"references": (REFERENCE,) * 5, "max_images": 11},
    "prompt over 2000 characters": {"prompt": "x" * 2001},
    "no seed": {"seed": 5},
    "no guidance scale": {"guidance_scale": 3.0},
    "no png": {"model": "seedream-5.0-lite", "output_format": "png"},
    "no watermark": {"watermark": True},
}


@pytest.mark.parametrize("overrides", REFUSED.values(), ids=REFUSED.keys())
def test_what_sinancode_cannot_do_is_refused_before_any_call(
    emulator: SinanCodeEmulator, overrides: dict[str, Any]
) -> None:
    refused(emulator, make_request(**overrides))


def test_a_missing_token_fails_before_any_call(emulator: SinanCodeEmulator) -> None:
    adapter = make_adapter(emulator, api_key="")

    with pytest.raises(AuthError):
        adapter.submit(make_request())

    assert emulator.requests == []


# --- faults --------------------------------------------------------------------------------


def test_a_refused_prompt_fails_the_task_as_content_refused(emulator: SinanCodeEmulator) -> None:
    adapter = make_adapter(emulator)
    job = adapter.submit(make_request(prompt=f"{PROMPT} [fault:refuse]"))

    with pytest.raises(ContentRefused) as caught:
        adapter.poll(job)

    assert caught.value.provider_code == "InputTextSensitiveContentDetected"
    assert caught.value.failover_safe is False


# --- cancel, check, blocking generate ----------------------------------------------------


def test_cancel_is_a_no_op_without_a_cancel_endpoint(emulator: SinanCodeEmulator) -> None:
    adapter = make_adapter(emulator)

    adapter.cancel(ProviderJob(job_id="some-task", state={"version": "4.0"}))

    assert emulator.requests == []


def test_check_proves_the_token(emulator: SinanCodeEmulator) -> None:
    adapter = make_adapter(emulator)

    assert adapter.check() == "SinanCode accepted the token"
    assert emulator.requests[0].path == "/v1/tasks/00000000-0000-0000-0000-000000000000"

    wrong = make_adapter(emulator, api_key="wrong-token")
    with pytest.raises(AuthError):
        wrong.check()


EMULATOR_REFUSALS = {
    "unknown field": {"seed": 1},
    "4.0 has no 3K": {"size": "3K"},
    "4.5 below its pixel floor": {"version": "4.5", "size": "1024x1024"},
    "unknown version": {"version": "3.0"},
    "15 references": {"images": [REFERENCE_URL] * 15},
    "references plus images over 15": {"images": [REFERENCE_URL] * 5, "max_images": 11},
    "a reference that is not an image": {"images": ["not a url"]},
    # seed 003 documents URLs only: the data URIs this adapter used to send are refused.
    "a data URI reference": {"images": [PNG_DATA_URI]},
}


@pytest.mark.parametrize("extra", EMULATOR_REFUSALS.values(), ids=EMULATOR_REFUSALS)
def test_the_emulator_refuses_what_sinancode_refuses(
    emulator: SinanCodeEmulator, extra: dict[str, Any]
) -> None:
    with httpx.Client(transport=emulator.transport()) as client:
        response = client.post(
            f"{emulator.api_url}/generate/vol/seedream",
            json={"prompt": PROMPT, "version": "4.0", **extra},
            headers={"Authorization": "Bearer test-key"},
        )

    assert response.status_code == 400
    assert set(response.json()) == {"error_code", "error_msg"}
    assert emulator.jobs == {}
