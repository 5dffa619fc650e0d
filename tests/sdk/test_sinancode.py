"""SinanCode: no official SDK exists, so SinanCode's own page is the reference.

The expected request is written from shared seed 003 ("Seedream Image Generation": body fields
prompt, images, max_images, size, version; "Authorizations": the API token) and providers.md §5
(`POST /v1/generate/vol/seedream`, `Authorization: Bearer`). The logical call has no seed and no
watermark: the page documents neither, and our adapter refuses a seed.
"""

from __future__ import annotations

import httpx

from tests.emulators.base import RecordedRequest
from tests.emulators.sinancode import SinanCodeEmulator
from tests.sdk.support import (
    IMAGES,
    PROMPT,
    REFERENCE_LINK,
    assert_same_call,
    logical_request,
    only_request,
    our_adapter,
)

GENERATE = "/v1/generate/vol/seedream"
# "Input images (optional, ... up to 14)" are URLs (seed 003): ours is the signed link to the
# reference in our storage.
REFERENCE_URL = REFERENCE_LINK
DOCUMENTED = RecordedRequest(
    method="POST",
    path=GENERATE,
    headers={"authorization": "Bearer test-key", "content-type": "application/json"},
    body={
        "prompt": PROMPT,
        "images": [REFERENCE_URL],
        "max_images": IMAGES,  # "Set to 2-15: Generate a group of images, up to N images"
        "size": "2K",  # "Tier: 2K, 3K (for 5.0-lite) or 2K, 4K (for 4.5/4.0)"
        "version": "4.0",  # "Available values: 4.0, 4.5, 5.0-lite"
    },
)


def test_the_emulator_accepts_the_documented_request() -> None:
    emulator = SinanCodeEmulator()
    with httpx.Client(transport=emulator.transport(), base_url=emulator.base_url) as client:
        response = client.post(GENERATE, json=DOCUMENTED.body, headers=DOCUMENTED.headers)

    assert response.status_code == 200, response.text
    assert response.json()["task_id"]


def test_our_request_is_the_documented_one() -> None:
    emulator = SinanCodeEmulator()
    adapter = our_adapter("sinancode", emulator, base_url=emulator.api_url)

    adapter.submit(logical_request(seed=None))  # type: ignore[attr-defined]

    assert_same_call(
        DOCUMENTED,
        only_request(emulator, method="POST", path_prefix=GENERATE),
        headers=("content-type",),
    )
