"""Scenario (kind "scenario"): Seedream and Dreamina 3.1 as jobs on Scenario's generation API.

Wire facts: providers.md §3 and §9, and Scenario's Bytedance model table (shared seed 000).
`POST {base}/generate/custom/{modelId}` with the model's parameters flat in the body answers
`{"job": {"jobId", "status": "queued"}, "creativeUnitsCost"}`; `GET {base}/jobs/{jobId}` gives
the job until its status is `success` (then `job.metadata.assetIds[]` -> `GET {base}/assets/{id}`
-> `asset.url`), `failure` (the reason in `job.metadata.error`, as Scenario's SDK models it) or
`canceled`. `base_url` includes `/v1`.

References must be Scenario assets first, uploaded the way Scenario's "Uploading Assets" guide
says by size (SC-UPLOAD): images under 6MB by `POST {base}/assets` `{"image", "name"}` ->
`{"asset": {"id"}}`; 6MB and over by the multi-part flow of `scenario/uploads.py`. Uploads
come before the paid launch, so their failures may still fail over; a URL reference is copied
through our client.

Credentials: Scenario authenticates with HTTP Basic over an API key *and* secret, so the
account's `api_key` holds both as ``KEY:SECRET`` (the secret may itself contain ':'; the key may
not). A key without ':' is refused with `AuthError` before any call.

Request decisions:
- Model ids per catalog id (`SCENARIO_MODEL_IDS`, overridable with `options["model_ids"]`); the
  parameter shape follows the catalog id, so an override may point at another variant.
- An edit (reference images) without an aspect ratio keeps the reference's shape: `aspectRatio`
  `auto` on 4.0 / 4.5 Edit, `match_input_image` on 5.0 lite (seed 000).
- Seedream 4.0 / 4.5 Edit take only a `size` tier with an `aspectRatio`, so an explicit
  WIDTHxHEIGHT is refused for them (rounding it to a tier would hand back another size).
  5.0 lite gets the concrete `width`/`height` (plus `aspectRatio` for a tier), Seedream 3 its
  `width`/`height` (512-2048), Dreamina 3.1 `resolution` + `aspectRatio` for a tier or
  `aspectRatio: "custom"` + `width`/`height` (512-3024). Out-of-range sizes fail before any call.
- Group models always get `sequentialImageGeneration` and `maxImages`; `seed` only goes to
  Seedream 3 and Dreamina 3.1. A guidance scale, PNG output or a watermark (none exists on
  Scenario) are refused rather than silently dropped.

SC-UPLOAD = docs.scenario.com/get-started/content/uploading-assets ("POST /v1/assets - For
uploading small images (< 6MB) ... POST /v1/uploads - For uploading larger images (≥ 6MB)").

The job helpers both task providers use (image download with one retry, failed-job and HTTP
error mapping, poll retries, refusals) live in job_wire.py. As for SinanCode, a download that
fails after its one retry, transport failures included, fails that image only.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

from generations.providers.contract import (
    ProviderImageFailure,
    ProviderOutcome,
)
from generations.providers.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    Unavailable,
    unserved_request,
)
from generations.providers.inputs import ProviderRequest, ReferenceInput
from generations.providers.job_wire import (
    TASK_BALANCE_MARKS,
    TASK_REFUSAL_MARKS,
    TRANSIENT_POLL_ERRORS,
    missing_images,
    poll_record,
    refuse_unsupported,
)
from generations.providers.jobs import JobAdapter, JobStatus, ProviderJob
from generations.providers.registry import register_adapter
from generations.providers.scenario.uploads import asset_id_of, upload_in_parts
from generations.providers.wire import (
    ReferenceRoute,
    accepted_call,
    deliver_reference,
    fetch_image,
    provider_model_id,
)

__all__ = ["SCENARIO_MODEL_IDS", "ScenarioAdapter"]

SCENARIO_MODEL_IDS: Mapping[str, str] = {
    "seedream-5.0-lite": "model_bytedance-seedream-5-0-lite",
    "seedream-4.5": "model_bytedance-seedream-4-5-editing",
    "seedream-4.0": "model_bytedance-seedream-4-editing",
    "seedream-3.0-t2i": "model_bytedance-seedream-3",
    "dreamina-3.1": "model_bytedance-dreamina-3-1",
}
COMMON_RATIOS = ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "21:9")
TIERS = ("1K", "2K", "3K", "4K")
MAX_TOTAL_IMAGES = 15  # references + generated, on every group model (seed 000)
ASSET_BELOW_BYTES = 6_000_000  # `POST /assets` is for images under 6MB (SC-UPLOAD)


@dataclass(frozen=True)
class _ModelShape:
    """How one catalog model's size, group and seed travel to Scenario (seed 000)."""

    size_style: str  # "tier" (4.x Edit), "lite" (5.0 lite), "exact" (Seedream 3), "dreamina"
    tiers: tuple[str, ...] = ()
    ratios: tuple[str, ...] = COMMON_RATIOS
    side_range: tuple[int, int] | None = None
    height_range: tuple[int, int] | None = None  # when height's limits differ from width's
    max_references: int = 0
    group: bool = False
    seed: bool = False
    # The `aspectRatio` that keeps the reference's shape (seed 000), for edits naming none.
    match_input: str = ""


_SHAPES: Mapping[str, _ModelShape] = {
    "seedream-4.0": _ModelShape(
        "tier", ("1K", "2K", "4K"), max_references=14, group=True, match_input="auto"
    ),
    "seedream-4.5": _ModelShape(
        "tier", ("2K", "4K"), max_references=10, group=True, match_input="auto"
    ),
    # Width 1024-4704, height 1024-4096: the model table's own min/max columns (seed 000).
    # providers.md §3.3 summarised them as 1024-6240 a side, which Scenario refuses past 4704
    # wide or 4096 high. ASSUMPTION: 14 references, as on every Ark 5.0 lite.
    "seedream-5.0-lite": _ModelShape(
        "lite",
        side_range=(1024, 4704),
        height_range=(1024, 4096),
        max_references=14,
        group=True,
        match_input="match_input_image",
    ),
    "seedream-3.0-t2i": _ModelShape("exact", side_range=(512, 2048), seed=True),
    "dreamina-3.1": _ModelShape(
        "dreamina", ("1K", "2K"), (*COMMON_RATIOS, "9:21"), side_range=(512, 3024), seed=True
    ),
}


@register_adapter
class ScenarioAdapter(JobAdapter):
    kind = "scenario"
    default_base_url: ClassVar[str] = "https://api.cloud.scenario.com/v1"
    refusal_marks = TASK_REFUSAL_MARKS
    balance_marks = TASK_BALANCE_MARKS

    @property
    def secrets(self) -> tuple[str, ...]:
        # The key, the secret and the Basic token each identify the account on their own.
        key = self.account.api_key
        if not key:
            return ()
        return (key, *key.split(":", 1), base64.b64encode(key.encode()).decode("ascii"))

    # --- job contract --------------------------------------------------------------------
    def submit(self, request: ProviderRequest) -> ProviderJob:
        model_id = provider_model_id(self.account, request.model, SCENARIO_MODEL_IDS, "Scenario")
        body = self.request_body(request)  # every refusal happens before the first call
        # Uploads come before the paid launch, so their failures may still fail over.
        asset_ids = [
            deliver_reference(
                reference,
                ReferenceRoute(
                    provider="Scenario",
                    upload=functools.partial(self._upload, index=index),
                    takes_urls=False,
                ),
            )
            for index, reference in enumerate(request.references)
        ]
        if asset_ids:
            body["referenceImages"] = asset_ids
        reply = self.call_json("POST", f"/generate/custom/{quote(model_id, safe='')}", body)
        with accepted_call():
            job = reply.get("job")
            job_id = (job.get("jobId") or job.get("id")) if isinstance(job, Mapping) else None
            if not isinstance(job_id, str) or not job_id:
                raise BadResponse(message="Scenario accepted the job but sent no job id")
        cost = reply.get("creativeUnitsCost")
        return ProviderJob(
            job_id=job_id,
            state={
                "model": request.model,
                "model_id": model_id,
                "max_images": request.max_images,
                "reference_asset_ids": asset_ids,
                "creative_units_cost": cost if isinstance(cost, int | float) else None,
            },
        )

    def poll(self, job: ProviderJob) -> JobStatus:
        with accepted_call():
            record = poll_record(lambda: self.call_json("GET", _job_path(job)), key="job")
            if isinstance(record, JobStatus):
                return record
            status = str(record.get("status") or "")
            if status == "failure":
                raise self.failed_job_error("Scenario", _job_failure(record), job_id=job.job_id)
            if status == "canceled":
                raise Unavailable(
                    message=f"Scenario job {job.job_id} was canceled", before_accepted=False
                )
            if status != "success":  # queued, or anything undocumented: still running
                return JobStatus(
                    done=False, provider_status=status, progress=_progress(record.get("progress"))
                )
            return self._finished(record, job)

    def cancel(self, job: ProviderJob) -> None:
        """ASSUMPTION: the action body is `{"action": "cancel"}` (§3.1: body not found)."""
        # A 4xx here means the job is unknown or already finished: nothing left to stop.
        with suppress(BadRequest):
            self.call_json("POST", f"{_job_path(job)}/action", {"action": "cancel"})

    def check(self) -> str:
        """ASSUMPTION: `GET /models?pageSize=1` is the cheapest authenticated read (§3.1)."""
        reply = self.call_json("GET", "/models?pageSize=1")
        models = reply.get("models")
        listed = len(models) if isinstance(models, list) else 0
        return f"Scenario accepted the key ({listed} model(s) on the first page)"

    # --- request -------------------------------------------------------------------------
    def request_body(self, request: ProviderRequest) -> dict[str, Any]:
        """The launch body without `referenceImages` (asset ids exist only after upload)."""
        shape = _SHAPES.get(request.model)
        if shape is None:
            raise BadRequest(message=f"Scenario has no parameter shape for {request.model}")
        refuse_unsupported("Scenario", request, self.account, takes_seed=shape.seed)
        if request.max_images > 1 and not shape.group:
            raise BadRequest(message=f"{request.model} makes one image per request on Scenario")
        if len(request.references) > shape.max_references:
            raise BadRequest(
                message=f"Scenario's {request.model} takes at most {shape.max_references} "
                f"reference images; got {len(request.references)}"
            )
        if shape.group and len(request.references) + request.max_images > MAX_TOTAL_IMAGES:
            raise BadRequest(
                message=f"reference images plus images asked for must not exceed "
                f"{MAX_TOTAL_IMAGES}; got {len(request.references)} + {request.max_images}"
            )
        body: dict[str, Any] = {"prompt": request.prompt, **_size_fields(request, shape)}
        if shape.group:
            body["sequentialImageGeneration"] = "auto" if request.max_images > 1 else "disabled"
            body["maxImages"] = request.max_images
        if shape.seed and request.seed is not None:
            body["seed"] = request.seed
        return body

    # --- calls ---------------------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        """HTTP Basic with the account's key and secret (stored joined by ':')."""
        key, separator, secret = self.account.api_key.partition(":")
        if not (key and separator and secret):
            raise AuthError(
                message="the Scenario account's API key must be API_KEY:API_SECRET "
                "(Scenario's key and secret joined by ':')"
            )
        token = base64.b64encode(self.account.api_key.encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}

    def _upload(self, reference: ReferenceInput, *, index: int) -> str:
        """The reference as a new Scenario asset; returns the asset id."""
        content = reference.content
        if content is None:
            # Scenario only takes assets; a URL reference is copied through our own client.
            content = self.download_image(str(reference.url))
        subtype = reference.mime.lower().partition("/")[2] or "png"
        name = f"reference-{index + 1}.{subtype}"
        if len(content) >= ASSET_BELOW_BYTES:
            with self.http_client() as storage:  # presigned part URLs: no credentials
                return upload_in_parts(
                    content,
                    name=name,
                    mime=f"image/{subtype}",
                    call=self.call_json,
                    storage=storage,
                    error=self.error_from_reply,
                    secrets=self.secrets,
                    sleep=self.sleep,
                )
        # ASSUMPTION: `image` takes a data URI (§3.1 says base64 only; the emulator takes both).
        data_uri = f"data:image/{subtype};base64,{base64.b64encode(content).decode('ascii')}"
        asset = self.call_json("POST", "/assets", {"image": data_uri, "name": name})
        return asset_id_of(asset.get("asset"), "id")

    # --- replies -------------------------------------------------------------------------
    def _finished(self, record: Mapping[str, Any], job: ProviderJob) -> JobStatus:
        metadata = record.get("metadata")
        asset_ids = metadata.get("assetIds") if isinstance(metadata, Mapping) else None
        if not isinstance(asset_ids, list) or not asset_ids:
            raise BadResponse(message=f"Scenario job {job.job_id} succeeded without assets")
        try:
            urls = [self._asset_url(str(asset_id)) for asset_id in asset_ids]
        except TRANSIENT_POLL_ERRORS as error:
            return JobStatus(done=False, provider_status=f"success; assets {error.code}")
        outcomes: list[ProviderOutcome] = [
            fetch_image(self, url, index=index)
            if url
            else ProviderImageFailure(index, BadResponse.code, "the asset has no url")
            for index, url in enumerate(urls)
        ]
        outcomes += missing_images(
            returned=len(urls), expected=int(job.state.get("max_images") or 1), provider="Scenario"
        )
        outcomes.append(
            self.usage(
                outcomes,
                model=job.state.get("model_id"),
                job_id=job.job_id,
                asset_ids=[str(asset_id) for asset_id in asset_ids],
                creative_units_cost=job.state.get("creative_units_cost"),
            )
        )
        return JobStatus(
            done=True, outcomes=tuple(outcomes), provider_status="success", progress=1.0
        )

    def _asset_url(self, asset_id: str) -> str:
        """The download link of a result asset ("" when Scenario gives none)."""
        asset = self.call_json("GET", f"/assets/{quote(asset_id, safe='')}").get("asset")
        url = asset.get("url") if isinstance(asset, Mapping) else None
        return url if isinstance(url, str) else ""


def _size_fields(request: ProviderRequest, shape: _ModelShape) -> dict[str, Any]:
    """Size parameters per model family; `BadRequest` for a size the model cannot take."""
    tier = request.size.strip().upper() if request.size.strip().upper() in TIERS else ""
    follows_reference = bool(request.references and not request.aspect_ratio and shape.match_input)
    ratio = shape.match_input if follows_reference else request.aspect_ratio or "1:1"
    if tier and (tier not in shape.tiers and shape.size_style != "lite"):
        raise BadRequest(message=f"Scenario's {request.model} has no {tier} size")
    if tier and not follows_reference and ratio not in shape.ratios:
        raise BadRequest(message=f"Scenario's {request.model} has no {ratio} aspect ratio")
    if shape.size_style == "tier":
        if not tier:
            raise BadRequest(
                message=f"Scenario's {request.model} takes a size tier "
                f"({', '.join(shape.tiers)}) with an aspect ratio, not {request.size}"
            )
        return {"size": tier, "aspectRatio": ratio}
    if shape.size_style == "dreamina" and tier:
        return {"resolution": tier, "aspectRatio": ratio}
    if shape.side_range is not None:
        low, high = shape.side_range
        height_low, height_high = shape.height_range or shape.side_range
        if not (low <= request.width <= high and height_low <= request.height <= height_high):
            # Another provider may take these sides (5.0 lite's 4K 16:9 at Siraya, say).
            raise unserved_request(
                f"Scenario's {request.model} takes a width of {low}-{high} and a height "
                f"of {height_low}-{height_high} pixels; got {request.width}x{request.height}"
            )
    sides = {"width": request.width, "height": request.height}
    if shape.size_style == "dreamina":
        return {"aspectRatio": "custom", **sides}
    if shape.size_style == "lite" and tier:
        return {"aspectRatio": ratio, **sides}
    return sides


def _job_failure(record: Mapping[str, Any]) -> object:
    """Why a job failed: `job.metadata.error`, where Scenario's own SDK models it, else a
    top-level `job.error` (the shape a docs copy and older clients show)."""
    metadata = record.get("metadata")
    reason = metadata.get("error") if isinstance(metadata, Mapping) else None
    return reason or record.get("error")


def _job_path(job: ProviderJob) -> str:
    return f"/jobs/{quote(job.job_id, safe='')}"


def _progress(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return None
