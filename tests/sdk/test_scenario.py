"""Scenario: its official SDK (`scenario-sdk`) against our Scenario emulator.

A reference is an uploaded asset (providers.md §3.1): the SDK uploads the PNG, then launches
Seedream 4.0 Edit with the asset id. The logical call has no seed and no watermark: Scenario's
Seedream 4.0 Edit takes neither (seed 000, "Seedream 4.0 Edit"), and our adapter refuses a seed.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import scenario_sdk

from tests.emulators.scenario import REFUSAL_ERROR, RUN_FAILURE_ERROR, ScenarioEmulator
from tests.sdk.support import (
    IMAGES,
    PROMPT,
    assert_same_call,
    logical_request,
    only_request,
    our_adapter,
    reference_png,
)

MODEL = "model_bytedance-seedream-4-editing"
LAUNCH = f"/v1/generate/custom/{MODEL}"


@pytest.fixture
def emulator() -> Iterator[ScenarioEmulator]:
    emulator = ScenarioEmulator()
    with emulator.serve():
        yield emulator


def sdk_client(emulator: ScenarioEmulator) -> scenario_sdk.Scenario:
    return scenario_sdk.Scenario(
        api_key="test-key", api_secret="test-secret", base_url=emulator.api_url, max_retries=0
    )


def sdk_launch(emulator: ScenarioEmulator, **overrides: Any) -> Any:
    """Upload the reference, then launch the model with it: the SDK's two calls."""
    client = sdk_client(emulator)
    encoded = base64.b64encode(reference_png()).decode("ascii")
    asset = client.assets.upload(name="reference-1.png", image=f"data:image/png;base64,{encoded}")
    body = {
        "prompt": PROMPT,
        "size": "2K",
        "aspectRatio": "1:1",
        "sequentialImageGeneration": "auto",
        "maxImages": IMAGES,
        "referenceImages": [asset.asset.id],
    }
    return client.generate.run_model(MODEL, body=body | overrides)


def test_sdk_job_succeeds_with_asset_urls(emulator: ScenarioEmulator) -> None:
    client = sdk_client(emulator)
    job_id = sdk_launch(emulator).job.job_id

    client.jobs.retrieve(job_id)  # queued -> in progress
    job = client.jobs.retrieve(job_id).job

    assert job.status == "success"
    asset_ids = job.metadata.asset_ids or []
    assert len(asset_ids) == IMAGES
    for asset_id in asset_ids:
        url = client.assets.retrieve(asset_id).asset.url
        assert httpx.get(url).status_code == 200


@pytest.mark.parametrize(
    ("fault", "error_class", "status"),
    [
        ("auth", scenario_sdk.AuthenticationError, 401),
        ("rate_limit", scenario_sdk.RateLimitError, 429),
        ("server_error", scenario_sdk.InternalServerError, 500),
        ("unavailable", scenario_sdk.InternalServerError, 503),
    ],
)
def test_sdk_raises_its_own_error_for_each_fault(
    emulator: ScenarioEmulator, fault: str, error_class: type[Exception], status: int
) -> None:
    emulator.faults.add(fault, seconds=3, path=LAUNCH)

    with pytest.raises(error_class) as raised:
        sdk_launch(emulator)

    error: Any = raised.value
    assert error.status_code == status
    if fault == "rate_limit":
        assert error.response.headers["retry-after"] == "3"


@pytest.mark.parametrize(
    ("fault", "message"), [("refuse", REFUSAL_ERROR), ("fail_after_run", RUN_FAILURE_ERROR)]
)
def test_sdk_reads_a_failed_job(emulator: ScenarioEmulator, fault: str, message: str) -> None:
    emulator.faults.add(fault, path=LAUNCH)
    client = sdk_client(emulator)
    job_id = sdk_launch(emulator).job.job_id

    client.jobs.retrieve(job_id)
    job = client.jobs.retrieve(job_id).job

    assert job.status == "failure"
    # Scenario puts the reason in the job's metadata (the SDK's model of a job).
    metadata = job.metadata if isinstance(job.metadata, dict) else job.metadata.model_dump()
    assert metadata["error"] == message


def test_sdk_cancels_a_job(emulator: ScenarioEmulator) -> None:
    client = sdk_client(emulator)
    job_id = sdk_launch(emulator).job.job_id

    canceled = client.jobs.trigger_action(job_id, action="cancel")

    assert canceled.job.status == "canceled"
    assert client.jobs.retrieve(job_id).job.status == "canceled"


# --- golden: the SDK's requests and ours -----------------------------------------------------


def test_our_upload_and_launch_are_the_sdks(emulator: ScenarioEmulator) -> None:
    sdk_launch(emulator)
    upload = only_request(emulator, method="POST", path_prefix="/v1/assets")
    launch = only_request(emulator, method="POST", path_prefix=LAUNCH)
    # A fresh emulator numbers our upload as it numbered the SDK's: the asset ids agree.
    fresh = ScenarioEmulator()
    adapter = our_adapter("scenario", fresh, base_url=fresh.api_url)

    adapter.submit(logical_request(seed=None))  # type: ignore[attr-defined]

    assert_same_call(
        upload,
        only_request(fresh, method="POST", path_prefix="/v1/assets"),
        headers=("content-type", "authorization"),
    )
    assert_same_call(
        launch,
        only_request(fresh, method="POST", path_prefix=LAUNCH),
        headers=("content-type", "authorization"),
    )
