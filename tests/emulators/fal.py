"""fal.ai's queue as a fake server for the Seedream endpoints (providers.md §7, fal's docs).

Routes (the emulator's root stands for https://queue.fal.run):
- `POST /fal-ai/bytedance/seedream/{v4,v4.5}/{text-to-image,edit}` validates the body the way
  the schema in §7.2 describes it and answers `{"status": "IN_QUEUE", "request_id",
  "response_url", "status_url", "cancel_url", "queue_position"}`;
- `GET /{owner}/{app}/requests/{id}/status` answers 202 `IN_QUEUE` / `IN_PROGRESS`, then 200
  `COMPLETED` (ASSUMPTION: the 202/200 split), moving the job along its timeline;
- `GET /{owner}/{app}/requests/{id}` answers the result `{"images": [{"url"}], "seed"}`, or
  the job's error: there is no failed status, failures surface here (§7.1);
- `PUT /{owner}/{app}/requests/{id}/cancel` answers 202 `CANCELLATION_REQUESTED`, or 400
  `ALREADY_COMPLETED` (ASSUMPTION: fal's own client uses PUT; the bodies are not in §7).
- `POST /storage/upload/initiate?storage_type=gcs` `{"file_name", "content_type"}` answers
  `{"upload_url", "file_url"}`; `PUT upload_url` (signed, no key) stores the bytes, which
  `file_url` then serves: fal's storage upload as fal-client's `_upload_via_storage` does it
  (the emulator's root stands for https://rest.fal.ai there).
Queue URLs hang off the app root (`fal-ai/bytedance`), not the endpoint path (§7.1 gotcha).
`image_urls` entries: URLs only. fal's CDN page says models take file inputs as URLs and "some
models also accept data URIs", naming none; ASSUMPTION: Seedream is not one of them, so a data
URI is refused. A `file_url` must name an uploaded file; any other URL is fetched through the
`reference_transport` when the emulator has one.
Timing is `JobEmulator`'s (job_emulator.py): `ready_after_polls` status polls or
`job_seconds` of wall time.

Sizes: `{width, height}` follows fal's Seedream 4.5 schema, "width and height must be between
1920 and 4096, or total number of pixels must be between 2560*1440 and 4096*4096"; for 4.0 the
4096*4096 ceiling is an ASSUMPTION (its page states only the floor: below 921,600 px an image
is scaled up keeping its aspect).

ASSUMPTIONS where §7 found nothing: the named
presets are fal's usual ~1 MP shapes and `auto*` come out square; the emulated model makes
`num_images * max_images` images; unknown fields are refused (stricter catches adapter
mistakes); the result of a canceled request is a 400 naming the cancellation.

Errors: fal's model-error shape, `{"detail": [{"loc", "msg", "type"}]}`, with 422 for
validation. Faults: latency, drop and hang come from the base; rate_limit (429 + Retry-After),
server_error (500), unavailable (a gateway's plain-text 503), malformed (200 cut mid-JSON) and
auth (401 `{"detail": "Unauthorized"}`, §7.3) hit the submit, or a poll when queued with a
`path`. Outcome faults shape the job (see `JobEmulator`); refuse makes the result fetch a 422
`content_policy_violation` and fail_after_run a 500 (ASSUMPTION: where Seedream's fal failures
surface is not documented beyond "on the result fetch").
"""

from __future__ import annotations

import math
import uuid
from typing import Any, Unpack

from tests.emulators.base import EmulatorRequest, EmulatorResponse, Fault, is_url
from tests.emulators.job_emulator import Job, JobEmulator, JobEmulatorOptions
from tests.emulators.replicate import whole_in
from tests.emulators.siraya import (
    gateway_unavailable,
    is_image_reference,
    malformed_reply,
    retry_after_headers,
)

ENDPOINTS = frozenset(
    f"fal-ai/bytedance/seedream/{version}/{task}"
    for version in ("v4", "v4.5")
    for task in ("text-to-image", "edit")
)
PRESETS = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
    "auto": (2048, 2048),
    "auto_2K": (2048, 2048),
    "auto_4K": (4096, 4096),
}
FIELDS = frozenset(
    {
        "prompt", "image_size", "num_images", "max_images", "seed", "sync_mode",
        "enable_safety_checker", "enhance_prompt_mode",
    }
)  # fmt: skip
MIN_PIXELS = 921_600
MAX_PIXELS = 4096 * 4096
# Seedream 4.5: either both sides in 1920-4096, or the total in 2560*1440 to 4096*4096.
V45_SIDES = (1920, 4096)
V45_PIXELS = (2560 * 1440, MAX_PIXELS)
MAX_REFERENCES = 10
MAX_TOTAL_IMAGES = 15
REFUSAL = {
    "loc": ["body", "prompt"],
    "msg": "The content could not be processed because it contained material flagged by a "
    "content checker.",
    "type": "content_policy_violation",
    "url": "https://docs.fal.ai/errors/#content_policy_violation",
}
FAILURE = {
    "loc": ["body"],
    "msg": "The model failed while generating the image.",
    "type": "internal_server_error",
}
QUEUE_STATUS = {"queued": "IN_QUEUE", "running": "IN_PROGRESS"}


class FalEmulator(JobEmulator):
    name = "fal"

    def __init__(self, **options: Unpack[JobEmulatorOptions]) -> None:
        super().__init__(**options)
        requests = r"/(?P<root>[^/]+/[^/]+)/requests/(?P<id>[0-9a-f-]+)"
        # Before the submit route, which would take any POST path of three parts.
        self.route("POST", r"/storage/upload/initiate", self._storage_initiate)
        self.route("PUT", r"/storage/uploads/(?P<file_id>[0-9a-f]+)", self._storage_put)
        self._pending_uploads: dict[str, str] = {}  # file id -> format, until its PUT
        self.route("POST", r"/(?P<endpoint>[^/]+/[^/]+/.+)", self._submit)
        self.route("GET", f"{requests}/status", self._status)
        self.route("GET", requests, self._result)
        self.route("PUT", f"{requests}/cancel", self._cancel)

    # --- storage -------------------------------------------------------------------------
    def _storage_initiate(self, request: EmulatorRequest) -> EmulatorResponse:
        if not self._authorized(request):
            return _unauthorized()
        early = _fault_reply(self.fault_for(request))
        if early is not None:
            return early
        try:
            body = request.json
        except ValueError:
            body = None
        content_type = body.get("content_type") if isinstance(body, dict) else None
        if content_type not in ("image/png", "image/jpeg"):
            # ASSUMPTION: the emulator stores only the image types it can serve back.
            return _invalid(["body", "content_type"], "unsupported content type", "enum")
        file_id = uuid.uuid4().hex
        fmt = content_type.partition("/")[2]
        with self._lock:
            self._pending_uploads[file_id] = fmt
        return EmulatorResponse.json(
            200,
            {
                "upload_url": f"{self.base_url}/storage/uploads/{file_id}?signature=emulated",
                "file_url": f"{self.base_url}/files/{file_id}.{fmt}",
            },
        )

    def _storage_put(self, request: EmulatorRequest) -> EmulatorResponse:
        assert request.match is not None
        file_id = request.match["file_id"]
        with self._lock:
            fmt = self._pending_uploads.pop(file_id, None)
            if fmt is not None:
                self.files[file_id] = (request.body, fmt)
        if fmt is None:
            return EmulatorResponse(
                403, b"signature does not match", {"Content-Type": "text/plain"}
            )
        return EmulatorResponse(200, b"")

    def _references_problem(self, body: dict[str, Any]) -> tuple[list[str], str, str] | None:
        own_files = f"{self.base_url}/files/"
        for entry in body.get("image_urls") or []:
            if not is_url(entry):
                return ["body", "image_urls"], "Input should be a valid URL", "url_parsing"
            if entry.startswith(own_files):
                file_id = entry.removeprefix(own_files).split(".", 1)[0]
                if file_id not in self.files:
                    return ["body", "image_urls"], f"File not found: {entry}", "file_download_error"
                continue
            problem = self.fetch_reference(entry)
            if problem:
                return ["body", "image_urls"], problem, "file_download_error"
        return None

    # --- routes --------------------------------------------------------------------------
    def _submit(self, request: EmulatorRequest) -> EmulatorResponse:
        assert request.match is not None
        if not self._authorized(request):
            return _unauthorized()
        try:
            body = request.json
        except ValueError:
            body = None
        prompt = body.get("prompt") if isinstance(body, dict) else None
        fault = self.fault_for(request, prompt if isinstance(prompt, str) else "")
        early = _fault_reply(fault)
        if early is not None:
            return early
        endpoint = request.match["endpoint"]
        if endpoint not in ENDPOINTS:
            return EmulatorResponse.json(404, {"detail": f"Application '{endpoint}' not found"})
        if not isinstance(body, dict):
            return _invalid(["body"], "the body must be a JSON object", "model_attributes_type")
        problem = _body_problem(
            body, endpoint=endpoint, edit=endpoint.endswith("/edit")
        ) or self._references_problem(body)
        if problem is not None:
            return _invalid(*problem)
        width, height = _dimensions(body, edit=endpoint.endswith("/edit"))
        job = self.add_job(
            Job(
                id=str(uuid.uuid4()),
                model=endpoint,
                params=body,
                width=width,
                height=height,
                count=body.get("num_images", 1) * body.get("max_images", 1),
                fault=self.job_fault(fault),
            )
        )
        urls = self._urls(job)
        return EmulatorResponse.json(
            200,
            {
                "status": "IN_QUEUE",
                "request_id": job.id,
                "response_url": urls["response"],
                "status_url": urls["status"],
                "cancel_url": urls["cancel"],
                "queue_position": 0,
            },
        )

    def _status(self, request: EmulatorRequest) -> EmulatorResponse:
        job = self._job_for(request)
        if isinstance(job, EmulatorResponse):
            return job
        phase = self.advance(job, poll=True)
        reply: dict[str, Any] = {"response_url": self._urls(job)["response"], "logs": None}
        if phase in QUEUE_STATUS:
            reply["status"] = QUEUE_STATUS[phase]
            if phase == "queued":
                reply["queue_position"] = 0
            return EmulatorResponse.json(202, reply)
        # Finished, failed and canceled requests all read COMPLETED: fal has no failed state.
        reply["status"] = "COMPLETED"
        reply["metrics"] = {"inference_time": 1.5}
        return EmulatorResponse.json(200, reply)

    def _result(self, request: EmulatorRequest) -> EmulatorResponse:
        job = self._job_for(request)
        if isinstance(job, EmulatorResponse):
            return job
        phase = self.advance(job, poll=False)
        if phase in QUEUE_STATUS:
            return EmulatorResponse.json(400, {"detail": "Request is still in progress"})
        if phase == "canceled":
            return EmulatorResponse.json(400, {"detail": "Request was cancelled by the user"})
        if phase == "failed":
            if job.fault == "refuse":
                refusal = {**REFUSAL, "input": job.params.get("prompt", "")}
                return EmulatorResponse.json(
                    422, {"detail": [refusal]}, {"X-Fal-Retryable": "false"}
                )
            return EmulatorResponse.json(500, {"detail": [FAILURE]}, {"X-Fal-Retryable": "false"})
        with job.lock:
            images = [{"url": url} for url in job.outputs]
        seed = job.params.get("seed", 20_250_101)  # fal echoes the seed it used
        return EmulatorResponse.json(200, {"images": images, "seed": seed})

    def _cancel(self, request: EmulatorRequest) -> EmulatorResponse:
        job = self._job_for(request)
        if isinstance(job, EmulatorResponse):
            return job
        if self.cancel_job(job):
            return EmulatorResponse.json(202, {"status": "CANCELLATION_REQUESTED"})
        return EmulatorResponse.json(400, {"status": "ALREADY_COMPLETED"})

    # --- helpers -------------------------------------------------------------------------
    def _authorized(self, request: EmulatorRequest) -> bool:
        scheme, _, key = request.header("authorization").partition(" ")
        return scheme == "Key" and key == self.api_key

    def _job_for(self, request: EmulatorRequest) -> Job | EmulatorResponse:
        """The request a status, result or cancel call names, or the answer instead."""
        assert request.match is not None
        if not self._authorized(request):
            return _unauthorized()
        early = _fault_reply(self.fault_for(request))
        if early is not None:
            return early
        job = self.find_job(request.match["id"])
        if job is None or _app_root(job.model) != request.match["root"]:
            return EmulatorResponse.json(404, {"detail": "Request not found"})
        return job

    def _urls(self, job: Job) -> dict[str, str]:
        own = f"{self.base_url}/{_app_root(job.model)}/requests/{job.id}"
        return {"response": own, "status": f"{own}/status", "cancel": f"{own}/cancel"}


def _body_problem(
    body: dict[str, Any], *, endpoint: str, edit: bool
) -> tuple[list[str], str, str] | None:
    """(loc, msg, type) of the first field the schema refuses, or None."""
    for name in sorted(set(body) - FIELDS - ({"image_urls"} if edit else set())):
        return ["body", name], "Extra inputs are not permitted", "extra_forbidden"
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return ["body", "prompt"], "Field required", "missing"
    size_problem = _size_problem(body.get("image_size"), v45="/v4.5/" in endpoint)
    if size_problem:
        return ["body", "image_size"], size_problem, "value_error"
    for name in ("num_images", "max_images"):
        if not whole_in(body.get(name, 1), 1, 6):
            return ["body", name], "Input should be between 1 and 6", "less_than_equal"
    images = body.get("image_urls")
    if edit and (not isinstance(images, list) or not images):
        return ["body", "image_urls"], "Field required", "missing"
    if edit and not all(map(is_image_reference, images or [])):
        return ["body", "image_urls"], "Input should be a valid URL", "url_parsing"
    references = min(len(images or []), MAX_REFERENCES)  # beyond 10, the last 10 are kept
    if references + body.get("num_images", 1) * body.get("max_images", 1) > MAX_TOTAL_IMAGES:
        return ["body", "max_images"], "inputs + outputs must not exceed 15", "value_error"
    if "seed" in body and not whole_in(body["seed"], 0, 2**63 - 1):
        return ["body", "seed"], "Input should be a valid integer", "int_type"
    for flag in ("sync_mode", "enable_safety_checker"):
        if not isinstance(body.get(flag, False), bool):
            return ["body", flag], "Input should be a valid boolean", "bool_type"
    if body.get("enhance_prompt_mode", "standard") not in ("standard", "fast"):
        return ["body", "enhance_prompt_mode"], "Input should be 'standard' or 'fast'", "enum"
    return None


def _size_problem(size: object, *, v45: bool) -> str:
    if size is None or (isinstance(size, str) and size in PRESETS):
        return ""
    if not isinstance(size, dict) or set(size) != {"width", "height"}:
        return f"image_size must be one of {', '.join(PRESETS)} or {{width, height}}"
    width, height = size["width"], size["height"]
    if not (whole_in(width, 1, 10**6) and whole_in(height, 1, 10**6)):
        return "width and height must be positive integers"
    pixels = width * height
    if v45:
        sides_fit = all(V45_SIDES[0] <= side <= V45_SIDES[1] for side in (width, height))
        if not (sides_fit or V45_PIXELS[0] <= pixels <= V45_PIXELS[1]):
            return (
                "Width and height must be between 1920 and 4096, or total number of pixels "
                "must be between 2560*1440 and 4096*4096."
            )
    elif pixels > MAX_PIXELS:
        return "total number of pixels must be at most 4096*4096"
    return ""


def _dimensions(body: dict[str, Any], *, edit: bool) -> tuple[int, int]:
    size = body.get("image_size", "auto" if edit else "square_hd")
    width, height = PRESETS[size] if isinstance(size, str) else (size["width"], size["height"])
    if width * height < MIN_PIXELS:
        scale = math.sqrt(MIN_PIXELS / (width * height))
        width, height = math.ceil(width * scale), math.ceil(height * scale)
    return width, height


def _fault_reply(fault: Fault | None) -> EmulatorResponse | None:
    """The answer for a fault that replaces the HTTP exchange; None for outcome faults."""
    if fault is None:
        return None
    if fault.kind == "rate_limit":
        return EmulatorResponse.json(
            429, {"detail": "Rate limit exceeded, please retry later"}, retry_after_headers(fault)
        )
    if fault.kind == "server_error":
        return EmulatorResponse.json(500, {"detail": "Internal Server Error"})
    if fault.kind == "unavailable":
        return gateway_unavailable()
    if fault.kind == "malformed":
        return malformed_reply()
    if fault.kind == "auth":
        return _unauthorized()
    return None


def _invalid(loc: list[str], msg: str, kind: str) -> EmulatorResponse:
    return EmulatorResponse.json(422, {"detail": [{"loc": loc, "msg": msg, "type": kind}]})


def _unauthorized() -> EmulatorResponse:
    return EmulatorResponse.json(401, {"detail": "Unauthorized"})


def _app_root(endpoint: str) -> str:
    return "/".join(endpoint.split("/")[:2])
