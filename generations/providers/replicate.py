"""Replicate (kind "replicate"): Seedream 4.0, 4.5 and 5.0 lite run as predictions.

Wire facts come from providers.md §2 and the bytedance/seedream-4 model page (shared seed 001):
`POST {base}/models/{owner}/{name}/predictions` with `{"input": {...}}` creates a prediction
(`starting` -> `processing` -> `succeeded` | `failed` | `canceled` | `aborted`); `GET urls.get`
reads it; `POST urls.cancel` stops it; `Authorization: Bearer <token>`. A finished prediction's
`output` is a list of image URLs, which are downloaded at once (their lifetime is unknown).
`base_url` includes the API version (default https://api.replicate.com/v1).

Request decisions:
- Models: seedream-4.0 -> bytedance/seedream-4, 4.5 -> bytedance/seedream-4.5, 5.0 lite ->
  bytedance/seedream-5-lite; `account.options["model_ids"]` overrides. Other catalog ids are
  refused before any call.
- `size`: a tier goes out as the tier with `aspect_ratio` (the request's, else
  `match_input_image` when there are references, else 1:1); an explicit WxH as `custom` with
  `width`/`height`, which Replicate takes only at 1024-4096 px per side: anything outside is
  refused before the call, as are tiers and custom sizes a model's schema lacks (§2.3).
- `sequential_image_generation` and `max_images` are always sent (defaults change between
  schema versions); 5.0 lite gets `output_format` (its default is PNG). No seed, guidance or
  watermark input exists (§9.5): asking for one is refused, not silently dropped.
- References go as URLs or data URIs (Replicate recommends data URIs only up to 256 KB;
  uploading through its Files API would lift that, not done yet).

Errors: ASSUMPTION: besides the documented 429 `{"detail": ...}`, errors are problem details
`{"title", "detail", "status"}` (§2.2 found no other shape); statuses map the usual way. A
failed prediction whose `error` reads like a content filter (Replicate's E005 "flagged as
sensitive", ASSUMPTION) is `ContentRefused`; any other failure after the job was accepted is
`Unavailable(before_accepted=False)`: Replicate may have billed the run.

The job helpers at the bottom (`poll_failure`, `collect_outputs`, `same_origin_url`,
`job_canceled`) serve fal.py too and belong in jobs.py (owned elsewhere); the reply and
reference helpers come from siraya.py for the same reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from generations.providers.contract import (
    ProviderImage,
    ProviderImageFailure,
    ProviderRequest,
    ProviderUsage,
)
from generations.providers.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    ContentRefused,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    Unavailable,
)
from generations.providers.http import error_from_response, map_transport_errors, redact
from generations.providers.jobs import JobAdapter, JobStatus, ProviderJob
from generations.providers.registry import register_adapter
from generations.providers.wire import (
    accepted_call,
    image_facts,
    provider_model_id,
    reference_wire_value,
    reply_json_object,
)

__all__ = [
    "REPLICATE_MODELS",
    "ReplicateAdapter",
    "collect_outputs",
    "job_canceled",
    "poll_failure",
    "prediction_error",
    "same_origin_url",
]

DEFAULT_BASE_URL = "https://api.replicate.com/v1"
REPLICATE_MODELS: Mapping[str, str] = {
    "seedream-4.0": "bytedance/seedream-4",
    "seedream-4.5": "bytedance/seedream-4.5",
    "seedream-5.0-lite": "bytedance/seedream-5-lite",
}
ASPECT_RATIOS = ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "21:9")
MATCH_INPUT_IMAGE = "match_input_image"
CUSTOM_SIDE_RANGE = (1024, 4096)  # `width`/`height` with size=custom (seed 001, §9.3)
RUNNING_STATUSES = ("starting", "processing")
# Replicate's word for a run stopped by a content filter (ASSUMPTION: E005, "flagged as
# sensitive", NSFW); matched case-insensitively in the prediction's `error`.
_REFUSAL_MARKS = ("e005", "sensitive", "nsfw", "content policy", "safety checker", "flagged")
_TIER = re.compile(r"^[1-9]K$")
FLAKY_DOWNLOAD_PAUSE_S = 0.5  # CDNs may publish a file a moment after the job names it


@dataclass(frozen=True)
class ReplicateSchema:
    """What one model's input schema takes (§2.3); 4.5 is its newest version, 9fe3b828."""

    tiers: tuple[str, ...]
    custom_size: bool
    max_references: int
    output_format: bool = False


_SCHEMAS: Mapping[str, ReplicateSchema] = {
    "seedream-4.0": ReplicateSchema(tiers=("1K", "2K", "4K"), custom_size=True, max_references=10),
    "seedream-4.5": ReplicateSchema(tiers=("2K", "4K"), custom_size=True, max_references=14),
    "seedream-5.0-lite": ReplicateSchema(
        tiers=("2K", "3K"), custom_size=False, max_references=14, output_format=True
    ),
}


@register_adapter
class ReplicateAdapter(JobAdapter):
    kind = "replicate"
    default_base_url: ClassVar[str] = DEFAULT_BASE_URL

    @property
    def base_url(self) -> str:
        return (self.account.base_url or self.default_base_url).rstrip("/")

    def check(self) -> str:
        """`GET /account`: free, names the account the token belongs to, 401 for a bad token."""
        response = self._call("GET", f"{self.base_url}/account")
        if response.status_code != 200:
            raise self._error_from(response)
        username = reply_json_object(response, secrets=self.secrets).get("username")
        return f"Replicate accepted the token (account {username or 'unnamed'})."

    # --- the job -------------------------------------------------------------------------
    def submit(self, request: ProviderRequest) -> ProviderJob:
        model_path = provider_model_id(self.account, request.model, REPLICATE_MODELS, "Replicate")
        body = {"input": self.request_input(request)}
        response = self._call("POST", f"{self.base_url}/models/{model_path}/predictions", body)
        if response.status_code not in (200, 201):
            raise self._error_from(response)
        with accepted_call():
            prediction = reply_json_object(response, secrets=self.secrets)
            prediction_id = prediction.get("id")
            if not isinstance(prediction_id, str) or not prediction_id:
                raise BadResponse(message="Replicate's new prediction has no id")
        urls = prediction.get("urls")
        urls = urls if isinstance(urls, Mapping) else {}
        own = f"{self.base_url}/predictions/{prediction_id}"
        return ProviderJob(
            job_id=prediction_id,
            state={
                "model": model_path,
                "expected_images": request.max_images,
                "get_url": same_origin_url(urls.get("get"), base_url=self.base_url, fallback=own),
                "cancel_url": same_origin_url(
                    urls.get("cancel"), base_url=self.base_url, fallback=f"{own}/cancel"
                ),
            },
        )

    def poll(self, job: ProviderJob) -> JobStatus:
        try:
            response = self._call("GET", str(job.state["get_url"]))
            if response.status_code != 200:
                raise self._error_from(response)
        except ProviderError as error:
            return poll_failure(error)
        with accepted_call():
            prediction = reply_json_object(response, secrets=self.secrets)
        status = str(prediction.get("status") or "")
        if status == "succeeded":
            return self._finished(job, prediction)
        if status in ("failed", "canceled", "aborted"):
            raise prediction_error(
                status, str(prediction.get("error") or ""), job.job_id, secrets=self.secrets
            )
        # starting, processing, or a status newer than this code: still running. Replicate
        # reports no fraction done; a prediction that has not started has done nothing.
        progress = 0.0 if status == "starting" else None
        return JobStatus(done=False, provider_status=status or "unknown", progress=progress)

    def cancel(self, job: ProviderJob) -> None:
        response = self._call("POST", str(job.state["cancel_url"]))
        # 404: Replicate no longer knows the prediction, which is what cancel wants anyway.
        if response.status_code not in (200, 201, 202, 204, 404):
            raise self._error_from(response)

    def _finished(self, job: ProviderJob, prediction: Mapping[str, Any]) -> JobStatus:
        output = prediction.get("output")
        urls = [output] if isinstance(output, str) else output
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise BadResponse(
                message="Replicate's prediction succeeded without image URLs",
                request_id=job.job_id,
            )
        expected = int(job.state.get("expected_images", len(urls)))
        try:
            images = collect_outputs(self, urls, expected=expected, provider="Replicate")
        except ProviderError as error:
            return poll_failure(error, provider_status="succeeded")
        metrics = prediction.get("metrics")
        usage = ProviderUsage(
            generated_images=len(urls),  # what Replicate made and bills, fetched or not
            raw={
                "provider": self.kind,
                "model": job.state.get("model", ""),
                "prediction_id": job.job_id,
                "metrics": dict(metrics) if isinstance(metrics, Mapping) else {},
            },
        )
        return JobStatus(done=True, outcomes=(*images, usage), provider_status="succeeded")

    # --- request -------------------------------------------------------------------------
    def request_input(self, request: ProviderRequest) -> dict[str, Any]:
        """The prediction's `input` for `request`; `BadRequest` for what Replicate cannot do."""
        schema = _SCHEMAS.get(request.model, _SCHEMAS["seedream-4.0"])
        if request.seed is not None or request.guidance_scale is not None:
            raise BadRequest(message="Replicate's Seedream models take no seed or guidance scale")
        if request.watermark:
            raise BadRequest(message="Replicate's Seedream models take no watermark option")
        if len(request.references) > schema.max_references:
            raise BadRequest(
                message=f"Replicate's {request.model} takes at most {schema.max_references} "
                f"reference images; got {len(request.references)}"
            )
        if request.output_format != "jpeg" and not schema.output_format:
            raise BadRequest(message=f"Replicate's {request.model} returns JPEG images only")
        payload: dict[str, Any] = {"prompt": request.prompt, **replicate_size(request, schema)}
        if request.references:
            payload["image_input"] = [reference_wire_value(ref) for ref in request.references]
        payload["sequential_image_generation"] = "auto" if request.max_images > 1 else "disabled"
        payload["max_images"] = request.max_images
        if schema.output_format:
            payload["output_format"] = request.output_format
        return payload

    # --- HTTP ----------------------------------------------------------------------------
    def _call(self, method: str, url: str, body: Mapping[str, Any] | None = None) -> httpx.Response:
        if not self.account.api_key:
            raise AuthError(message="the Replicate account has no API token")
        headers = {"Authorization": f"Bearer {self.account.api_key}"}
        with (
            self.http_client(headers=headers) as client,
            map_transport_errors(secrets=self.secrets),
        ):
            return client.request(method, url, json=body)

    def _error_from(self, response: httpx.Response) -> ProviderError:
        # ASSUMPTION: problem details, {"title", "detail", "status"} (see the module docstring).
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, Mapping) and (payload.get("detail") or payload.get("title")):
            message = str(payload.get("detail") or payload.get("title"))
        else:
            message = f"HTTP {response.status_code}: {response.text[:200] or 'no body'}"
        if response.status_code == 404:
            message = f"not found at Replicate (unknown model or prediction): {message}"
        # 401 auth, 402 no credit, 422 invalid input, 429 with Retry-After, 5xx, ...
        return error_from_response(response, message=message, secrets=self.secrets)


def replicate_size(request: ProviderRequest, schema: ReplicateSchema) -> dict[str, Any]:
    """`size` (+ `aspect_ratio`, or `width`/`height` for custom) for `request`."""
    if _TIER.match(request.size):
        if request.size not in schema.tiers:
            raise BadRequest(
                message=f"Replicate's {request.model} takes the sizes "
                f"{', '.join(schema.tiers)}; not {request.size}"
            )
        if not request.aspect_ratio:
            return {"size": request.size, "aspect_ratio": _default_aspect(request)}
        aspect = request.aspect_ratio
        if aspect not in ASPECT_RATIOS:
            raise BadRequest(
                message=f"Replicate takes the aspect ratios {', '.join(ASPECT_RATIOS)}; "
                f"not {aspect}"
            )
        return {"size": request.size, "aspect_ratio": aspect}
    if not schema.custom_size or "x" not in request.size:
        raise BadRequest(
            message=f"Replicate's {request.model} takes only the sizes "
            f"{', '.join(schema.tiers)}; not {request.size}"
        )
    low, high = CUSTOM_SIDE_RANGE
    if not (low <= request.width <= high and low <= request.height <= high):
        raise BadRequest(
            message=f"Replicate takes custom sizes of {low}-{high} px per side; "
            f"{request.width}x{request.height} is outside that"
        )
    return {"size": "custom", "width": request.width, "height": request.height}


def _default_aspect(request: ProviderRequest) -> str:
    # Replicate's own default is match_input_image, which needs an input image to match.
    return MATCH_INPUT_IMAGE if request.references else "1:1"


def prediction_error(
    status: str, error_text: str, prediction_id: str, *, secrets: tuple[str, ...] = ()
) -> ProviderError:
    """The error a finished-but-not-succeeded prediction means (none is failover-safe but
    `aborted`, which Replicate documents as never started and not billed)."""
    text = redact(error_text or "no error text", secrets)
    if status == "aborted":
        return Unavailable(
            message=f"Replicate aborted the prediction before it started: {text}",
            request_id=prediction_id,
            before_accepted=True,
        )
    if status == "canceled":
        return job_canceled("Replicate", prediction_id)
    if any(mark in text.lower() for mark in _REFUSAL_MARKS):
        return ContentRefused(message=f"Replicate: {text}", request_id=prediction_id)
    return Unavailable(
        message=f"the Replicate prediction failed: {text}",
        request_id=prediction_id,
        before_accepted=False,
    )


# --- job helpers shared with fal.py (see the module docstring) ----------------------------

_PASSING_FAILURES = (Unavailable, ProviderTimeout, RateLimited)


def poll_failure(error: ProviderError, *, provider_status: str = "") -> JobStatus:
    """What a poll whose own HTTP exchange failed reports.

    A passing failure (5xx, 429, a dropped or slow connection) is "not done yet": the job is
    still running at the provider and the next poll asks again, within the generation's
    deadline. Anything else is raised, never failover-safe: the provider accepted the job and
    may bill it, so sending the request elsewhere could pay twice.
    """
    if isinstance(error, _PASSING_FAILURES):
        return JobStatus(
            done=False, provider_status=provider_status or f"poll failed: {error.code}"
        )
    error.failover_safe = False
    raise error


def job_canceled(provider: str, job_id: str) -> ProviderError:
    """A job someone stopped before it finished (usually we did, for a canceled generation)."""
    return ProviderError(
        message=f"the {provider} job was canceled before it finished",
        code="job_canceled",
        request_id=job_id,
    )


def collect_outputs(
    adapter: JobAdapter, urls: Sequence[str], *, expected: int, provider: str
) -> list[ProviderImage | ProviderImageFailure]:
    """Download each output now (their links expire), one `ProviderImageFailure` per image that
    could not be fetched and per image the provider made fewer than asked for.

    Transport failures are raised (the whole poll is then retried); a link that answers 404
    is tried once more after a short pause, for files published a moment late.
    """
    outcomes: list[ProviderImage | ProviderImageFailure] = [
        _fetch_output(adapter, url, index=index) for index, url in enumerate(urls)
    ]
    for index in range(len(urls), expected):
        # A group may legitimately come out smaller (the model decides), or the provider's
        # output filter took an image out; the provider does not say which.
        outcomes.append(
            ProviderImageFailure(
                index=index,
                code=ProviderError.code,
                message=f"{provider} returned {len(urls)} of the {expected} images asked for",
            )
        )
    return outcomes


def _fetch_output(
    adapter: JobAdapter, url: str, *, index: int
) -> ProviderImage | ProviderImageFailure:
    try:
        try:
            content = adapter.download_image(url)
        except BadResponse as error:
            if error.http_status != 404:
                raise
            adapter.sleep(FLAKY_DOWNLOAD_PAUSE_S)
            content = adapter.download_image(url)
        width, height, mime = image_facts(content)
    except BadResponse as error:
        return ProviderImageFailure(index=index, code=error.code, message=error.message)
    return ProviderImage(
        index=index, content=content, url=url, width=width, height=height, mime=mime
    )


def same_origin_url(candidate: object, *, base_url: str, fallback: str) -> str:
    """`candidate` if it is on the API's own origin, else `fallback`.

    Our key goes to this URL on every poll: a reply naming another host must not get it.
    """
    if isinstance(candidate, str) and candidate:
        try:
            url, base = httpx.URL(candidate), httpx.URL(base_url)
        except httpx.InvalidURL:
            return fallback
        if (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port):
            return candidate
    return fallback
