"""fal.ai (kind "fal"): Seedream 4.0 and 4.5 through fal's queue.

Wire facts come from providers.md §7: `POST {base}/{endpoint_id}` queues a request and answers
`{"request_id", "status_url", "response_url", "cancel_url"}`; `GET status_url` says `IN_QUEUE`,
`IN_PROGRESS` or `COMPLETED` (there is no failed state); `GET response_url` then gives
`{"images": [{"url"}], "seed"}`, or the job's error. `Authorization: Key <key>`. `base_url` is
the queue host (default https://queue.fal.run); status, result and cancel URLs hang off the
app root (`fal-ai/bytedance`), not the endpoint path, so the ones the submit reply names are
used (when they are on the same host: our key goes with them).

Request decisions:
- Endpoints: seedream-4.0 -> fal-ai/bytedance/seedream/v4, 4.5 -> .../v4.5, each with
  `/text-to-image`, or `/edit` when there are references. `account.options["model_ids"]` maps
  a catalog id to another root. Other catalog ids are refused before any call.
- `image_size` is `{width, height}`: the pixels the catalog resolved for the tier and aspect
  ratio. fal's named presets (square_hd, landscape_16_9, ...) are ~1 MP shapes that would lose
  the tier, and `auto_2K`/`auto_4K` let the model pick the shape, losing the user's ratio; they
  are used only for an edit that names no aspect ratio, which keeps its reference's shape
  (`auto` for 1K). fal's Seedream 4.5 schema limits the total: "width and height must be between
  1920 and 4096, or total number of pixels must be between 2560*1440 and 4096*4096", so a 4K
  16:9 (5504x3040, 16.7 MP) is taken although a side passes 4096. Sizes over 4096*4096 px are
  refused before the call. ASSUMPTION: 4.0 has the same ceiling (its page states only the
  921,600 px floor, below which fal scales up).
- The catalog's `num_images` is a count of images asked for, so it goes out in fal's exact form,
  `num_images: N` separate generations of `max_images: 1` each, rather than one generation of
  "up to N" (`max_images: N`) that the model may cut short. The catalog has no sequential-group
  request; when it gets one, that is where `max_images` > 1 belongs. More than 6 images or more
  than 10 references (fal would silently keep the last 10) are refused before the call. `seed` goes
  when given (fal honours and echoes it; the catalog normally forbids it on 4.x). No guidance,
  watermark or output format input exists: asking for one is refused.

References: fal's CDN page says models take file inputs as URLs and only "some models also
accept data URIs", naming none, so nothing goes inline: stored references are uploaded to fal's
storage first, as fal-client's `upload` does with its "fal" repository
(`_upload_via_storage`): `POST {storage}/storage/upload/initiate?storage_type=gcs`
`{"file_name", "content_type"}` with our key answers `{"upload_url", "file_url"}`; the bytes go
by `PUT upload_url` (a signed URL: no key), and `file_url` goes in `image_urls`. `storage` is
the account option `storage_base_url` (default https://rest.fal.ai). Uploads come before the
queue submit, so their failures may still fail over. A URL reference goes as it is.

Errors: fal's model errors are `{"detail": [{"loc", "msg", "type"}]}` (fal's error docs),
validation at 422; a refusal has type `content_policy_violation`. ASSUMPTION: for Seedream a
refusal and a failed run surface when the result is fetched (422 / 5xx), as §7.1 says failures
do; both are then not failover-safe (the job ran). Cancel is `PUT cancel_url` (fal's own JS
client uses PUT; providers.md calls the method unconfirmed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from generations.providers.errors import (
    BadRequest,
    BadResponse,
    ProviderError,
)
from generations.providers.http import error_from_response, map_transport_errors, redact
from generations.providers.inputs import ProviderRequest, ReferenceInput
from generations.providers.job_wire import (
    collect_outputs,
    job_canceled,
    job_id_of,
    poll_failure,
    same_origin_url,
)
from generations.providers.jobs import JobAdapter, JobStatus, ProviderJob
from generations.providers.registry import register_adapter
from generations.providers.replies import reply_error_fields
from generations.providers.wire import (
    ReferenceRoute,
    accepted_call,
    deliver_reference,
    provider_model_id,
    reply_json_object,
)

__all__ = ["FAL_MODELS", "FalAdapter", "fal_error", "fal_image_size"]

DEFAULT_BASE_URL = "https://queue.fal.run"
DEFAULT_STORAGE_BASE_URL = "https://rest.fal.ai"
FAL_MODELS: Mapping[str, str] = {
    "seedream-4.0": "fal-ai/bytedance/seedream/v4",
    "seedream-4.5": "fal-ai/bytedance/seedream/v4.5",
}
TEXT_TO_IMAGE, EDIT = "text-to-image", "edit"
# fal's Seedream 4.5 schema: "total number of pixels must be between 2560*1440 and 4096*4096".
MAX_PIXELS = 4096 * 4096
MAX_IMAGES = 6  # `num_images` 1-6 (§7.2)
MAX_REFERENCES = 10  # `image_urls`: beyond 10 fal silently keeps the last 10 (§7.2)
# The presets with which the model picks the shape, for an edit: its input's (§7.2). 4.5 has no
# plain `auto`, but it has no 1K tier either.
_AUTO_PRESETS: Mapping[str, str] = {"2K": "auto_2K", "4K": "auto_4K"}
RUNNING_STATUSES = ("IN_QUEUE", "IN_PROGRESS")
CONTENT_POLICY = "content_policy_violation"
# A request id fal cannot know: its status answers 404 with a good key, 401 with a bad one.
_NO_SUCH_REQUEST = "00000000-0000-0000-0000-000000000000"


@register_adapter
class FalAdapter(JobAdapter):
    kind = "fal"
    auth_scheme = "Key"
    default_base_url: ClassVar[str] = DEFAULT_BASE_URL
    refusal_marks = (CONTENT_POLICY,)

    def check(self) -> str:
        """The status of a made-up request: nothing runs, so it costs nothing.

        ASSUMPTION: fal answers 404 for an unknown request with a good key and 401/403 for a
        bad one (no stored page shows the unknown-request answer).
        """
        root = _app_root(provider_model_id(self.account, "seedream-4.0", FAL_MODELS, "fal"))
        response = self.exchange("GET", f"/{root}/requests/{_NO_SUCH_REQUEST}/status")
        if response.status_code in (200, 400, 404, 422):
            return "fal accepted the key (a status check of an unknown request got past auth)."
        raise self.error_from_reply(response)

    # --- the job -------------------------------------------------------------------------
    def submit(self, request: ProviderRequest) -> ProviderJob:
        root = provider_model_id(self.account, request.model, FAL_MODELS, "fal")
        endpoint = f"{root.rstrip('/')}/{EDIT if request.references else TEXT_TO_IMAGE}"
        body = self.request_body(request)
        reply = self.call_json("POST", f"/{endpoint}", body, ok=(200, 201, 202))
        request_id = job_id_of(
            reply.get("request_id"), missing="fal's queue reply has no request_id"
        )
        own = f"{self.base_url}/{_app_root(endpoint)}/requests/{request_id}"

        def url(field: str, fallback: str) -> str:
            return same_origin_url(reply.get(field), base_url=self.base_url, fallback=fallback)

        return ProviderJob(
            job_id=request_id,
            state={
                "endpoint": endpoint,
                "expected_images": request.max_images,
                "status_url": url("status_url", f"{own}/status"),
                "response_url": url("response_url", own),
                "cancel_url": url("cancel_url", f"{own}/cancel"),
            },
        )

    def poll(self, job: ProviderJob) -> JobStatus:
        try:
            # 202 while queued or running, 200 once completed.
            reply = self.call_json("GET", str(job.state["status_url"]), ok=(200, 202))
        except ProviderError as error:
            return poll_failure(error)
        status = str(reply.get("status") or "")
        if status == "COMPLETED":
            return self._result(job)
        # IN_QUEUE, IN_PROGRESS, or a status newer than this code: still running. fal reports
        # a queue position, not a fraction done; a queued request has done nothing yet.
        progress = 0.0 if status == "IN_QUEUE" else None
        return JobStatus(done=False, provider_status=status or "unknown", progress=progress)

    def cancel(self, job: ProviderJob) -> None:
        response = self.exchange("PUT", str(job.state["cancel_url"]))
        # 400: already completed; 404: unknown. Either way there is nothing left to stop.
        if not (response.is_success or response.status_code in (400, 404)):
            raise self.error_from_reply(response)

    def _result(self, job: ProviderJob) -> JobStatus:
        try:
            response = self.exchange("GET", str(job.state["response_url"]))
            if response.status_code == 429:
                raise self.error_from_reply(response)
        except ProviderError as error:
            return poll_failure(error, provider_status="COMPLETED")
        if response.status_code != 200:
            raise self._job_error(response, job.job_id)
        with accepted_call():
            result = reply_json_object(response, secrets=self.secrets)
            images = result.get("images")
            if not isinstance(images, list) or not images:
                raise BadResponse(message="fal's result has no images", request_id=job.job_id)
            urls = [entry.get("url") if isinstance(entry, Mapping) else None for entry in images]
            if not all(isinstance(url, str) and url for url in urls):
                raise BadResponse(message="a fal result image has no url", request_id=job.job_id)
        expected = int(job.state.get("expected_images", len(urls)))
        try:
            outcomes = collect_outputs(
                self, [str(u) for u in urls], expected=expected, provider="fal"
            )
        except ProviderError as error:
            return poll_failure(error, provider_status="COMPLETED")
        usage = self.usage(
            outcomes,
            billed=len(urls),  # what fal made and bills, fetched or not
            endpoint=job.state.get("endpoint", ""),
            request_id=job.job_id,
            seed=result.get("seed"),  # fal echoes the seed it used
        )
        return JobStatus(done=True, outcomes=(*outcomes, usage), provider_status="COMPLETED")

    # --- request -------------------------------------------------------------------------
    def request_body(self, request: ProviderRequest) -> dict[str, Any]:
        """The queue request's JSON body; `BadRequest` for anything fal cannot do."""
        if request.guidance_scale is not None or request.watermark:
            raise BadRequest(message="fal's Seedream endpoints take no guidance scale or watermark")
        if request.output_format != "jpeg":
            raise BadRequest(message="fal's Seedream endpoints take no output format")
        if request.max_images > MAX_IMAGES:
            raise BadRequest(
                message=f"fal makes at most {MAX_IMAGES} images per request; "
                f"{request.max_images} were asked for"
            )
        if len(request.references) > MAX_REFERENCES:
            raise BadRequest(
                message=f"fal takes at most {MAX_REFERENCES} reference images; "
                f"got {len(request.references)}"
            )
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "image_size": fal_image_size(request),
            "num_images": request.max_images,
            "max_images": 1,
        }
        if request.references:
            route = ReferenceRoute(provider="fal", upload=self._upload_to_storage)
            body["image_urls"] = [deliver_reference(ref, route) for ref in request.references]
        if request.seed is not None:
            body["seed"] = request.seed
        return body

    # --- references ----------------------------------------------------------------------
    def _upload_to_storage(self, reference: ReferenceInput) -> str:
        """Upload a stored reference to fal's storage; returns the `file_url` fal serves it at."""
        if reference.content is None:
            raise ValueError("only stored bytes are uploaded")
        subtype = reference.mime.lower().partition("/")[2] or "png"
        storage = str(self.account.options.get("storage_base_url") or DEFAULT_STORAGE_BASE_URL)
        reply = self.call_json(
            "POST",
            f"{storage.rstrip('/')}/storage/upload/initiate?storage_type=gcs",
            {"file_name": f"reference.{subtype}", "content_type": f"image/{subtype}"},
        )
        upload_url, file_url = reply.get("upload_url"), reply.get("file_url")
        if not (_is_http_url(upload_url) and _is_http_url(file_url)):
            raise BadResponse(message="fal's storage sent no upload_url and file_url")
        # A signed URL on the storage bucket: our key must not go with it.
        with self.http_client() as client, map_transport_errors(secrets=self.secrets):
            stored = client.put(
                str(upload_url),
                content=reference.content,
                headers={"Content-Type": f"image/{subtype}"},
            )
        if stored.status_code not in (200, 201, 204):
            raise error_from_response(
                stored,
                message=f"fal's storage refused the reference upload (HTTP {stored.status_code})",
                secrets=self.secrets,
            )
        return str(file_url)

    # --- errors --------------------------------------------------------------------------
    def _job_error(self, response: httpx.Response, request_id: str) -> ProviderError:
        """A failed result fetch: the job's own failure, never failover-safe (it ran)."""
        _, message = fal_error(response, secrets=self.secrets)
        if "cancel" in message.lower():
            return job_canceled("fal", request_id)
        error = self.error_from_reply(response)
        error.request_id = request_id
        error.failover_safe = False
        return error


def fal_image_size(request: ProviderRequest) -> dict[str, int] | str:
    """`{width, height}` for the request's pixels, an `auto*` preset for an edit that keeps its
    reference's shape, or `BadRequest` past fal's pixel limit."""
    if "x" not in request.size and not request.size.endswith("K"):
        raise BadRequest(message=f"fal takes a size tier or WIDTHxHEIGHT; not {request.size}")
    if request.references and not request.aspect_ratio and request.size.endswith("K"):
        return _AUTO_PRESETS.get(request.size, "auto")
    pixels = request.width * request.height
    if pixels > MAX_PIXELS:
        asked = f"{request.size} at {request.aspect_ratio}" if request.aspect_ratio else ""
        raise BadRequest(
            message=f"fal takes at most {MAX_PIXELS:,} pixels (4096x4096); "
            f"{asked or request.size} is {request.width}x{request.height}, {pixels:,} pixels"
        )
    return {"width": request.width, "height": request.height}


def fal_error(response: httpx.Response, *, secrets: tuple[str, ...] = ()) -> tuple[str, str]:
    """(type, message) from fal's `detail` (a list of errors, a string, or an object)."""
    kind, message = reply_error_fields(response)
    return kind, redact(message, secrets)


def _is_http_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def _app_root(endpoint: str) -> str:
    """`fal-ai/bytedance` for `fal-ai/bytedance/seedream/v4/edit`: where queue URLs live."""
    return "/".join(endpoint.strip("/").split("/")[:2])
