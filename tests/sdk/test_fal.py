"""fal: its official SDK (`fal-client`) against our fal emulator, on the queue API.

fal-client builds its URLs from module constants (`https://queue.fal.run/...`), so the tests
point `QUEUE_URL_FORMAT` at the emulator: the SDK's base-URL override. The logical call keeps
the seed (fal takes one, providers.md §7.2); fal has no watermark input.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fal_client
import fal_client.client
import httpx
import pytest
from fal_client.client import FalClientHTTPError

from tests.emulators.fal import FalEmulator
from tests.sdk.support import (
    IMAGES,
    PROMPT,
    REFERENCE_LINK,
    SEED,
    Difference,
    assert_same_call,
    logical_request,
    only_request,
    our_adapter,
)

ENDPOINT = "fal-ai/bytedance/seedream/v4/edit"
ARGUMENTS = {
    "prompt": PROMPT,
    # A link, as fal's CDN docs say every model takes (data URIs only "some models").
    "image_urls": [REFERENCE_LINK],
    "image_size": "auto_2K",
    # The exact form: num_images images, one per run (providers.md §7.2); "1 and up to N"
    # would let the model decide how many.
    "num_images": IMAGES,
    "max_images": 1,
    "seed": SEED,
}


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[FalEmulator]:
    emulator = FalEmulator()
    with emulator.serve() as base_url:
        monkeypatch.setattr(fal_client.client, "QUEUE_URL_FORMAT", f"{base_url}/")
        yield emulator


def sdk_submit(**overrides: Any) -> fal_client.SyncRequestHandle:
    return fal_client.SyncClient(key="test-key").submit(ENDPOINT, ARGUMENTS | overrides)


def test_sdk_submit_and_result_has_the_image_urls(emulator: FalEmulator) -> None:
    handle = sdk_submit()

    result = handle.get(interval=0.01)

    assert len(result["images"]) == IMAGES
    assert all(httpx.get(image["url"]).status_code == 200 for image in result["images"])
    assert result["seed"] == SEED


@pytest.mark.parametrize(
    ("fault", "status", "message"),
    [
        ("auth", 401, "Unauthorized"),
        ("server_error", 500, "Internal Server Error"),
        ("unavailable", 503, "Service Temporarily Unavailable"),
    ],
)
def test_sdk_raises_its_http_error_on_submit(
    emulator: FalEmulator, fault: str, status: int, message: str
) -> None:
    emulator.faults.add(fault)

    with pytest.raises(FalClientHTTPError) as raised:
        sdk_submit()

    assert (raised.value.status_code, raised.value.message) == (status, message)


def test_sdk_reads_the_429_and_its_retry_after(
    emulator: FalEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fal_client.client, "MAX_ATTEMPTS", 1)  # the SDK retries a 429 itself
    emulator.faults.add("rate_limit", seconds=3)

    with pytest.raises(FalClientHTTPError) as raised:
        sdk_submit()

    assert raised.value.status_code == 429
    assert raised.value.response_headers["retry-after"] == "3"


def test_sdk_retries_a_429_by_itself(emulator: FalEmulator) -> None:
    emulator.faults.add("rate_limit")

    assert sdk_submit().request_id
    assert [r.method for r in emulator.requests] == ["POST", "POST"]


@pytest.mark.parametrize(
    ("fault", "status", "kind"),
    [("refuse", 422, "content_policy_violation"), ("fail_after_run", 500, "internal_server_error")],
)
def test_sdk_raises_a_failed_jobs_error_on_the_result(
    emulator: FalEmulator, fault: str, status: int, kind: str
) -> None:
    emulator.faults.add(fault)
    handle = sdk_submit()

    with pytest.raises(FalClientHTTPError) as raised:
        handle.get(interval=0.01)

    assert raised.value.status_code == status
    # fal's `detail` is a list of errors here; the SDK hands it on as the message.
    detail: Any = raised.value.message
    assert detail[0]["type"] == kind


def test_sdk_cancels_a_queued_request(emulator: FalEmulator) -> None:
    handle = sdk_submit()

    handle.cancel()

    assert isinstance(handle.status(), fal_client.Completed)
    with pytest.raises(FalClientHTTPError) as raised:
        handle.get(interval=0.01)
    assert raised.value.status_code == 400


# --- golden: the SDK's request and ours ------------------------------------------------------


def test_our_submit_is_the_sdks(emulator: FalEmulator) -> None:
    sdk_submit()
    reference = only_request(emulator, method="POST", path_prefix=f"/{ENDPOINT}")
    emulator.requests.clear()
    adapter = our_adapter("fal", emulator, base_url=emulator.base_url)

    adapter.submit(logical_request())  # type: ignore[attr-defined]

    ours = only_request(emulator, method="POST", path_prefix=f"/{ENDPOINT}")
    deliberate = (
        "deliberate: our fal adapter sends the exact pixels of the chosen tier and aspect ratio "
        "({width, height}); fal's `auto_2K` keeps the reference's shape instead"
    )
    assert_same_call(
        reference,
        ours,
        headers=("content-type",),
        known=(
            Difference(
                "image_urls[0]",
                "deliberate: both are links to the reference; ours is the file_url of fal's "
                "storage, where our adapter uploads a stored reference first (fal CDN docs)",
            ),
            Difference("image_size", deliberate),
            Difference("image_size.width", deliberate),
            Difference("image_size.height", deliberate),
        ),
    )
