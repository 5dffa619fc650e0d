"""Scenario's multi-part upload, for reference images of 6MB and more (the adapter uses it).

Scenario's "Uploading Assets" guide sends images under 6MB to `POST /v1/assets` and everything
larger through `/v1/uploads` (SC-UPLOAD). The flow (SC-MULTIPART, SC-ACTION, SC-SDK-UPLOADS):
1. `POST {base}/uploads` `{"fileName", "contentType", "fileSize", "parts", "kind"}` answers
   `{"upload": {"id", "parts": [{"number", "url", "expires"}], "status"}}`;
2. each part's bytes go by `PUT` to its presigned URL, without Scenario's credentials;
3. `POST {base}/uploads/{id}/action` `{"action": "complete"}`;
4. `GET {base}/uploads/{id}` until the upload names its asset (`entityId`) or ends (`imported`,
   `complete` or `failed`), as the SDK's `upload.wait()` does.
Parts are about 7 MiB, SC-MULTIPART's example (S3 takes no part under 5 MiB but the last).
ASSUMPTION: `kind` is "image", one value of the upload object's `kind` (the guide's example
uploads a model with "model"). The wait is bounded (`UPLOAD_POLLS` x `UPLOAD_POLL_INTERVAL_S`):
it runs in the worker before the paid launch.

SC-UPLOAD = docs.scenario.com/get-started/content/uploading-assets; SC-MULTIPART =
docs.scenario.com "Multipart Upload"; SC-ACTION = docs.scenario.com/api/resources/uploads/
methods/trigger_action; SC-SDK-UPLOADS = docs.scenario.com/sdk-helpers/uploads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from generations.providers.errors import BadRequest, BadResponse, ProviderError, Unavailable
from generations.providers.http import map_transport_errors

__all__ = ["UPLOAD_PART_BYTES", "asset_id_of", "upload_in_parts"]

UPLOAD_PART_BYTES = 7 * 1024 * 1024
UPLOAD_ENDED = frozenset({"imported", "complete", "failed"})
UPLOAD_POLLS = 30
UPLOAD_POLL_INTERVAL_S = 1.0

ScenarioCall = Callable[..., Mapping[str, Any]]


def upload_in_parts(
    content: bytes,
    *,
    name: str,
    mime: str,
    call: ScenarioCall,
    storage: httpx.Client,
    error: Callable[[httpx.Response], ProviderError],
    secrets: tuple[str, ...],
    sleep: Callable[[float], None],
) -> str:
    """Upload `content` as a new Scenario asset in parts; returns the asset id.

    `call(method, path, body)` is an authenticated Scenario API call answering its JSON object;
    `storage` a client without Scenario's credentials, for the presigned part URLs; `error`
    reads a part upload's refusal.
    """
    parts = math.ceil(len(content) / UPLOAD_PART_BYTES)
    body = {"fileName": name, "contentType": mime, "fileSize": len(content), "parts": parts}
    upload = _upload_record(call("POST", "/uploads", {**body, "kind": "image"}))
    upload_id = str(upload.get("id") or "")
    targets: dict[int, object] = {
        part["number"]: part.get("url")
        for part in upload.get("parts") or ()
        if isinstance(part, Mapping) and isinstance(part.get("number"), int)
    }
    if not upload_id or sorted(targets) != list(range(1, parts + 1)):
        raise BadResponse(message="Scenario's upload did not name a URL for every part")
    with map_transport_errors(secrets=secrets):
        for number in range(1, parts + 1):
            piece = content[(number - 1) * UPLOAD_PART_BYTES : number * UPLOAD_PART_BYTES]
            response = storage.put(str(targets[number]), content=piece)
            if response.status_code not in (200, 201, 204):
                raise error(response)
    path = f"/uploads/{quote(upload_id, safe='')}"
    upload = _upload_record(call("POST", f"{path}/action", {"action": "complete"}))
    for _ in range(UPLOAD_POLLS):
        if upload.get("entityId") or upload.get("status") in UPLOAD_ENDED:
            break
        sleep(UPLOAD_POLL_INTERVAL_S)
        upload = _upload_record(call("GET", path))
    if upload.get("status") == "failed":
        raise BadRequest(
            message="Scenario could not import a reference image: "
            f"{upload.get('errorMessage') or 'no reason given'}"
        )
    if not upload.get("entityId"):
        raise Unavailable(
            message="Scenario did not finish importing a reference image within "
            f"{UPLOAD_POLLS * UPLOAD_POLL_INTERVAL_S:g} s",
            before_accepted=True,
        )
    return asset_id_of(upload, "entityId")


def asset_id_of(record: object, field: str) -> str:
    """The asset id in `record[field]`, or `BadResponse`."""
    asset_id = record.get(field) if isinstance(record, Mapping) else None
    if not isinstance(asset_id, str) or not asset_id:
        raise BadResponse(message="Scenario stored a reference image but sent no asset id")
    return asset_id


def _upload_record(reply: Mapping[str, Any]) -> Mapping[str, Any]:
    upload = reply.get("upload")
    if not isinstance(upload, Mapping):
        raise BadResponse(message="Scenario's upload reply has no upload")
    return upload
