"""Replicate: its official SDK (`replicate`) against our Replicate emulator.

References go as data URIs on both sides: Replicate takes them for files up to 256 KB
(providers.md §2.1), which our one small PNG is. The logical call has no seed: no Replicate
Seedream 4+ schema has a seed input (providers.md §2.3, §9.5; seed 001), and our adapter refuses
one. No watermark input either.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import replicate
from replicate.exceptions import ModelError, ReplicateError

from tests.emulators.replicate import FAILURE_TEXT, REFUSAL_TEXT, ReplicateEmulator
from tests.sdk.support import (
    IMAGES,
    PROMPT,
    assert_same_call,
    logical_request,
    only_request,
    our_adapter,
    reference_data_uri,
)

MODEL = "bytedance/seedream-4"
CREATE = f"/v1/models/{MODEL}/predictions"
INPUT = {
    "prompt": PROMPT,
    "image_input": [reference_data_uri()],
    "size": "2K",
    "aspect_ratio": "1:1",
    "sequential_image_generation": "auto",
    "max_images": IMAGES,
    # Replicate turns prompt enhancement on by default; we say off unless the account asks.
    "enhance_prompt": False,
}


@pytest.fixture
def emulator() -> Iterator[ReplicateEmulator]:
    emulator = ReplicateEmulator()
    with emulator.serve():
        yield emulator


def sdk_client(emulator: ReplicateEmulator) -> replicate.Client:
    client = replicate.Client(api_token="test-key", base_url=emulator.base_url)
    client.poll_interval = 0.01
    return client


def sdk_create(emulator: ReplicateEmulator, **params: Any) -> Any:
    # `client.models.predictions`, not `client.predictions` with `model=`: the latter drops its
    # `wait` argument (replicate 1.0.7) and so never sends `Prefer: wait`.
    return sdk_client(emulator).models.predictions.create(model=MODEL, input=INPUT, **params)


def test_sdk_run_returns_the_image_urls(emulator: ReplicateEmulator) -> None:
    prediction = sdk_create(emulator)
    prediction.wait()

    assert prediction.status == "succeeded"
    assert len(prediction.output) == IMAGES
    for url in prediction.output:
        assert httpx.get(url).status_code == 200


@pytest.mark.parametrize(("fault", "status"), [("auth", 401), ("server_error", 500)])
def test_sdk_raises_replicate_error_on_create(
    emulator: ReplicateEmulator, fault: str, status: int
) -> None:
    emulator.faults.add(fault)

    with pytest.raises(ReplicateError) as raised:
        sdk_create(emulator)

    assert raised.value.status == status
    assert raised.value.detail


def test_sdk_reads_the_throttle_answer(emulator: ReplicateEmulator) -> None:
    emulator.faults.add("rate_limit", seconds=3)

    with pytest.raises(ReplicateError) as raised:
        sdk_create(emulator)  # a create (POST) is never retried by the SDK

    assert raised.value.status == 429
    assert raised.value.detail == "Request was throttled. Your rate limit resets in ~3s."


def test_sdk_retries_a_throttled_poll_after_retry_after(emulator: ReplicateEmulator) -> None:
    prediction = sdk_create(emulator)
    emulator.faults.add("rate_limit", seconds=1, path="/v1/predictions/")

    prediction.reload()
    prediction.reload()

    polls = [r for r in emulator.requests if r.method == "GET"]
    assert len(polls) == 3  # the throttled poll, its retry, the next one
    assert prediction.status == "succeeded"


def test_sdk_retries_a_gateway_503_on_a_poll(emulator: ReplicateEmulator) -> None:
    prediction = sdk_create(emulator)
    emulator.faults.add("unavailable", path="/v1/predictions/")

    prediction.reload()

    assert prediction.status == "processing"


@pytest.mark.parametrize(
    ("fault", "error"), [("refuse", REFUSAL_TEXT), ("fail_after_run", FAILURE_TEXT)]
)
def test_sdk_reports_a_failed_prediction(
    emulator: ReplicateEmulator, fault: str, error: str
) -> None:
    emulator.faults.add(fault)

    with pytest.raises(ModelError) as raised:
        sdk_client(emulator).run(MODEL, input=INPUT)

    assert raised.value.prediction.status == "failed"
    assert raised.value.prediction.error == error


def test_sdk_cancels_a_prediction(emulator: ReplicateEmulator) -> None:
    prediction = sdk_create(emulator)

    prediction.cancel()
    prediction.reload()

    assert prediction.status == "canceled"
    assert prediction.output is None


# --- golden: the SDK's request and ours ------------------------------------------------------


def test_our_create_is_the_sdks(emulator: ReplicateEmulator) -> None:
    sdk_create(emulator)
    reference = only_request(emulator, method="POST", path_prefix=CREATE)
    emulator.requests.clear()
    adapter = our_adapter("replicate", emulator, base_url=f"{emulator.base_url}/v1")

    adapter.submit(logical_request(seed=None))  # type: ignore[attr-defined]

    ours = only_request(emulator, method="POST", path_prefix=CREATE)
    assert_same_call(
        reference,
        ours,
        headers=("content-type", "prefer"),
    )


def test_our_short_job_create_holds_like_the_sdks_wait(emulator: ReplicateEmulator) -> None:
    sdk_create(emulator, wait=3)
    reference = only_request(emulator, method="POST", path_prefix=CREATE)
    emulator.requests.clear()
    adapter = our_adapter("replicate", emulator, base_url=f"{emulator.base_url}/v1")

    adapter.submit(logical_request(seed=None, typical_job_s=2.0))  # type: ignore[attr-defined]

    ours = only_request(emulator, method="POST", path_prefix=CREATE)
    assert reference.headers["prefer"] == "wait=3"
    assert_same_call(
        reference,
        ours,
        headers=("prefer",),
    )
