"""Ace Data Cloud: no official SDK exists, so Ace's own API page is the reference.

The expected request is written from shared seed 002 ("ByteDance Seedream Images API": `POST
https://api.acedata.cloud/seedream/images`, headers `accept` and `authorization: Bearer`, and
the request body fields) and providers.md §4.2 (`action: generate` in the examples; full model
ids only). The logical call has no seed: "Only doubao-seedream-3.0-t2i supports this parameter,
other models do not accept this parameter" (seed 002, `seed`), and our adapter leaves it out.
"""

from __future__ import annotations

import httpx

from tests.emulators.acedata import AceDataEmulator
from tests.emulators.base import RecordedRequest
from tests.sdk.support import (
    IMAGES,
    PROMPT,
    assert_same_call,
    logical_request,
    only_request,
    our_adapter,
    reference_data_uri,
)

IMAGES_PATH = "/seedream/images"
DOCUMENTED = RecordedRequest(
    method="POST",
    path=IMAGES_PATH,
    headers={
        "authorization": "Bearer test-key",
        "accept": "application/json",  # "If not specified, the default ... application/json"
        "content-type": "application/json",
    },
    body={
        "action": "generate",
        "model": "doubao-seedream-4-0-250828",
        "prompt": PROMPT,
        # "base64 encoded image strings in the format `data:image/png;base64,...`"
        "image": [reference_data_uri()],
        "size": "2K",  # "`doubao-seedream-4.0` supports `1K`/`2K`/`4K`"
        "sequential_image_generation": "auto",
        "sequential_image_generation_options": {"max_images": IMAGES},
        "watermark": False,  # "default is `true`"
        "response_format": "url",
    },
)


def test_the_emulator_accepts_the_documented_request() -> None:
    emulator = AceDataEmulator()
    with httpx.Client(transport=emulator.transport(), base_url=emulator.base_url) as client:
        response = client.post(IMAGES_PATH, json=DOCUMENTED.body, headers=DOCUMENTED.headers)

    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == IMAGES


def test_our_request_is_the_documented_one() -> None:
    emulator = AceDataEmulator()
    adapter = our_adapter("acedata", emulator, base_url=emulator.base_url)

    # No seed: Ace takes one for seedream-3.0-t2i only, and our adapter refuses it elsewhere.
    list(adapter.generate(logical_request(seed=None)))  # type: ignore[attr-defined]

    assert_same_call(
        DOCUMENTED,
        only_request(emulator, method="POST", path_prefix=IMAGES_PATH),
        headers=("content-type", "accept"),
    )
