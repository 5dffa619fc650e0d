"""Replicate's predictions API as a fake server (providers.md §2; the seedream-4 page, seed 001).

Routes, under `/v1` as on https://api.replicate.com/v1:
- `POST /v1/models/{owner}/{name}/predictions` validates `{"input": {...}}` against the model's
  schema (§2.3: size enum per model, custom 1024-4096 per side, `image_input` counts,
  `max_images` 1-15 with inputs + outputs <= 15) and answers 201 with a `starting` prediction;
- `POST /v1/predictions` with `{"version": ..., "input": {...}}` does the same for a version id
  (validated against that version's schema, `VERSIONS`) or an official model's `owner/name`
  (§2.1). ASSUMPTION: an unknown version answers 422 "Invalid version or not permitted". The
  version ids are `version_id(prefix)`: only their first 8 hex digits appear in the material
  read, the rest is made up;
- `GET /v1/predictions/{id}` answers the prediction, moving it along its timeline;
- `POST /v1/predictions/{id}/cancel` cancels an unfinished prediction;
- `GET /v1/account` answers `{"type", "username", "name"}` (the token check);
- `POST /v1/files` stores the multipart part `content` and answers 201 with the file object,
  whose `urls.get` an input may then name (replicate-python `replicate/file.py`).
`image_input` entries: a data URI is refused from 1,000,000 decoded bytes ("only recommended if
the file is less than 1MB", replicate.com/docs/topics/predictions/input-files; ASSUMPTION:
Replicate itself recommends rather than refuses, the stricter emulator catches an adapter that
inlines large files); a file URL must name an uploaded file; any other URL is fetched through
the `reference_transport` when the emulator has one.
Outputs are images this emulator serves; their WxH follow Ark's tier table (ASSUMPTION:
Replicate relays Ark's sizes; `match_input_image` comes out 1:1).

Timing is `JobEmulator`'s (job_emulator.py): with `ready_after_polls=N` (default 1) the first N
polls see the job unfinished (queued, then running on poll N) and poll N+1 sees it finished;
with `job_seconds=L` it finishes L seconds after submit, however often it is polled.

`Prefer: wait=N` on a create (`wait` alone: 60; ASSUMPTION: N above 60 counts as 60) holds the
answer up to N seconds or until the job is done, whichever comes first, then answers the
prediction as it is then (finished, with `output`, or still `starting`/`processing`). The hold
waits on the job's own event in the request's thread, holding no lock: over a loopback port
other requests (polls, cancels, other creates) are served meanwhile, and a cancel ends the hold.
With `ready_after_polls` time does not move a job, so a hold could never see it finish: the
create answers at once, as after a wait that ran out.

Errors: ASSUMPTION: problem details `{"title", "detail", "status"}` (only the 429's `detail`
is documented). Faults: latency, drop and hang come from the base; rate_limit is the documented
429 with Retry-After, server_error a 500, unavailable a gateway's plain-text 503, malformed a
200 cut mid-JSON, auth a 401; they hit the submit, or a poll when queued with a `path`. Outcome
faults shape the job: refuse (it fails with Replicate's E005 "flagged as sensitive" text,
ASSUMPTION), fail_after_run (runs, then fails), stuck (stays `starting`), partial (a group one
image short), expired_url (links already gone), flaky_download (each link 404s once).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Unpack

from generations.catalog.sizes import ARK_TIER_SIZES
from tests.emulators.base import (
    EmulatorRequest,
    EmulatorResponse,
    Fault,
    data_uri_bytes,
    multipart_parts,
)
from tests.emulators.job_emulator import FINISHED, Job, JobEmulator, JobEmulatorOptions
from tests.emulators.siraya import (
    gateway_unavailable,
    is_image_reference,
    malformed_reply,
    retry_after_headers,
)

REFUSAL_TEXT = (
    "The input or output was flagged as sensitive. Please try again with different inputs. (E005)"
)
FAILURE_TEXT = "Prediction failed: CUDA error: an illegal memory access was encountered"
ASPECTS = ("match_input_image", "1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "21:9")
SIDE_RANGE = (1024, 4096)
MAX_TOTAL_IMAGES = 15
# Data URIs are "only recommended if the file is less than 1MB" (input-files docs).
INLINE_BELOW_BYTES = 1_000_000


@dataclass(kw_only=True)
class Prediction(Job):
    version: str = ""  # the version id a prediction was created with, if any


@dataclass(frozen=True)
class Schema:
    sizes: tuple[str, ...]
    max_inputs: int
    extra_fields: frozenset[str] = frozenset()
    aspects: tuple[str, ...] = ASPECTS


def version_id(prefix: str) -> str:
    """A full 64-hex version id for the 8 digits §2.3 gives (the tail is made up)."""
    return prefix.ljust(64, "0")


_SEEDREAM_4 = Schema(sizes=("1K", "2K", "4K", "custom"), max_inputs=10)
_SAFETY = frozenset({"disable_safety_checker"})
_SEEDREAM_4_5 = Schema(sizes=("2K", "4K", "custom"), max_inputs=14, extra_fields=_SAFETY)
# §2.3; each model's path takes its newest version's schema (4.5: 9fe3b828).
MODELS: dict[str, Schema] = {
    "bytedance/seedream-4": _SEEDREAM_4,
    "bytedance/seedream-4.5": _SEEDREAM_4_5,
    "bytedance/seedream-5-lite": Schema(
        sizes=("2K", "3K"), max_inputs=14, extra_fields=frozenset({"output_format"})
    ),
}
# Version id -> (model, schema), for the versions §2.3 names. ASSUMPTION: 9fe3b828 keeps
# e563f451's `disable_safety_checker`, and the 4.5 beta's one aspect ratio is an enum of 1:1.
VERSIONS: dict[str, tuple[str, Schema]] = {
    version_id("e6cff243"): ("bytedance/seedream-4", _SEEDREAM_4),
    version_id("cf7d4319"): ("bytedance/seedream-4", _SEEDREAM_4),
    version_id("fffbf9ea"): (
        "bytedance/seedream-4.5",
        Schema(sizes=("2K",), max_inputs=14, aspects=("1:1",)),
    ),
    version_id("e563f451"): (
        "bytedance/seedream-4.5",
        Schema(sizes=("2K", "4K"), max_inputs=14, extra_fields=_SAFETY),
    ),
    version_id("9fe3b828"): ("bytedance/seedream-4.5", _SEEDREAM_4_5),
}
PREFER_WAIT = re.compile(r"^\s*wait(?:\s*=\s*(\d+))?\s*$")
PREFER_WAIT_MAX_S = 60
COMMON_FIELDS = frozenset(
    {
        "prompt", "image_input", "size", "aspect_ratio", "width", "height",
        "sequential_image_generation", "max_images", "enhance_prompt",
    }
)  # fmt: skip


class ReplicateEmulator(JobEmulator):
    name = "replicate"

    def __init__(
        self,
        *,
        username: str = "seedream-team",
        **options: Unpack[JobEmulatorOptions],
    ) -> None:
        super().__init__(**options)
        self.username = username
        self.route("POST", r"/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)/predictions", self._create)
        self.route("POST", r"/v1/predictions", self._create_version)
        self.route("GET", r"/v1/predictions/(?P<id>[a-z0-9]+)", self._get)
        self.route("POST", r"/v1/predictions/(?P<id>[a-z0-9]+)/cancel", self._cancel)
        self.route("GET", r"/v1/account", self._account)
        self.route("POST", r"/v1/files", self._create_file)
        self.uploaded_files: dict[str, tuple[bytes, str]] = {}

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"

    # --- routes --------------------------------------------------------------------------
    def _create_file(self, request: EmulatorRequest) -> EmulatorResponse:
        if not self._authorized(request):
            return _unauthenticated()
        early = _fault_reply(self.fault_for(request))
        if early is not None:
            return early
        content = multipart_parts(request).get("content")
        if content is None:
            # ASSUMPTION: a missing `content` part is a 400 problem.
            return _problem(400, "Bad request", "content is required")
        data, content_type = content
        file_id = secrets.token_hex(12)
        with self._lock:
            self.uploaded_files[file_id] = (data, content_type)
        now = datetime.now(UTC).isoformat()
        return EmulatorResponse.json(
            201,
            {
                "id": file_id,
                "name": "file",
                "content_type": content_type,
                "size": len(data),
                "etag": file_id,
                "checksums": {},
                "metadata": {},
                "created_at": now,
                "expires_at": None,
                "urls": {"get": f"{self.base_url}/v1/files/{file_id}"},
            },
        )

    def _references_problem(self, payload: dict[str, Any]) -> tuple[str, str] | None:
        """(field, description) for an `image_input` entry Replicate would not take."""
        own_files = f"{self.base_url}/v1/files/"
        for entry in payload.get("image_input", []):
            inline = data_uri_bytes(entry)
            if inline is not None and len(inline) >= INLINE_BELOW_BYTES:
                return "image_input", "data URIs are for files under 1MB; upload larger files"
            if inline is not None:
                continue
            if entry.startswith(own_files):
                if entry.removeprefix(own_files) not in self.uploaded_files:
                    return "image_input", f"no such file: {entry}"
                continue
            problem = self.fetch_reference(entry)
            if problem:
                return "image_input", problem
        return None

    def _create(self, request: EmulatorRequest) -> EmulatorResponse:
        assert request.match is not None
        return self._create_prediction(
            request, model=f"{request.match['owner']}/{request.match['name']}"
        )

    def _create_version(self, request: EmulatorRequest) -> EmulatorResponse:
        body = _json_object(request)
        version = body.get("version") if body is not None else None
        return self._create_prediction(request, version=version if isinstance(version, str) else "")

    def _create_prediction(
        self, request: EmulatorRequest, *, model: str = "", version: str = ""
    ) -> EmulatorResponse:
        """Both create routes: for a model path, or a `version` (an id or `owner/name`)."""
        if not self._authorized(request):
            return _unauthenticated()
        body = _json_object(request)
        payload = body.get("input") if body is not None else None
        prompt = payload.get("prompt") if isinstance(payload, dict) else None
        fault = self.fault_for(request, prompt if isinstance(prompt, str) else "")
        early = _fault_reply(fault)
        if early is not None:
            return early
        if not model and "/" in version:
            model, version = version, ""  # an official model's owner/name (§2.1)
        if model:
            schema = MODELS.get(model)
            if schema is None:
                return _problem(404, "Not found", "The requested resource could not be found.")
        elif version in VERSIONS:
            model, schema = VERSIONS[version]
        else:
            return _problem(
                422, "Invalid version or not permitted", "Invalid version or not permitted"
            )
        if not isinstance(payload, dict):
            return _invalid("input", "input is required and must be an object")
        problem = _input_problem(schema, payload) or self._references_problem(payload)
        if problem:
            return _invalid(*problem)
        width, height = _dimensions(payload)
        auto = payload.get("sequential_image_generation") == "auto"
        # 5-lite's output_format defaults to PNG (§2.3); the other models make JPEG.
        default_format = "png" if "output_format" in schema.extra_fields else "jpeg"
        job = self.add_job(
            Prediction(
                id=secrets.token_hex(13),
                model=model,
                params=payload,
                width=width,
                height=height,
                count=payload.get("max_images", 1) if auto else 1,
                fault=self.job_fault(fault),
                fmt=payload.get("output_format", default_format),
                version=version,
            )
        )
        wait_s = _prefer_wait_s(request.header("prefer"))
        if wait_s:
            self.hold(job, wait_s)
        return EmulatorResponse.json(201, self._prediction(job))

    def _get(self, request: EmulatorRequest) -> EmulatorResponse:
        job = self._job_for(request)
        if isinstance(job, EmulatorResponse):
            return job
        self.advance(job, poll=True)
        return EmulatorResponse.json(200, self._prediction(job))

    def _cancel(self, request: EmulatorRequest) -> EmulatorResponse:
        job = self._job_for(request)
        if isinstance(job, EmulatorResponse):
            return job
        self.cancel_job(job)  # a finished prediction is answered as it is
        return EmulatorResponse.json(200, self._prediction(job))

    def _account(self, request: EmulatorRequest) -> EmulatorResponse:
        if not self._authorized(request):
            return _unauthenticated()
        return EmulatorResponse.json(
            200, {"type": "user", "username": self.username, "name": "Seedream Team"}
        )

    # --- helpers -------------------------------------------------------------------------
    def _authorized(self, request: EmulatorRequest) -> bool:
        scheme, _, token = request.header("authorization").partition(" ")
        # Replicate's docs also show the older `Token` scheme (§2.1).
        return scheme.lower() in ("bearer", "token") and token == self.api_key

    def _job_for(self, request: EmulatorRequest) -> Prediction | EmulatorResponse:
        """The prediction a poll or cancel names, or the answer that replaces it."""
        assert request.match is not None
        if not self._authorized(request):
            return _unauthenticated()
        early = _fault_reply(self.fault_for(request))
        if early is not None:
            return early
        job = self.find_job(request.match["id"])
        if not isinstance(job, Prediction):
            return _problem(404, "Not found", "The requested resource could not be found.")
        return job

    def _prediction(self, job: Prediction) -> dict[str, Any]:
        with job.lock:
            phase, outputs, finished_wall = job.phase, list(job.outputs), job.finished_wall
        status = {"queued": "starting", "running": "processing"}.get(phase, phase)
        error = None
        if phase == "failed":
            error = REFUSAL_TEXT if job.fault == "refuse" else FAILURE_TEXT
        url = f"{self.base_url}/v1/predictions/{job.id}"
        created = datetime.fromtimestamp(job.created_wall, UTC).isoformat()
        completed = (
            datetime.fromtimestamp(finished_wall, UTC).isoformat()
            if phase in FINISHED and finished_wall is not None
            else None
        )
        return {
            "id": job.id,
            "model": job.model,
            "version": job.version or "hidden",
            "input": job.params,
            "status": status,
            "output": outputs if phase == "succeeded" else None,
            "error": error,
            "logs": "",
            "metrics": {"image_count": len(outputs)} if phase == "succeeded" else {},
            "created_at": created,
            "started_at": None if phase == "queued" else created,
            "completed_at": completed,
            "data_removed": False,
            "urls": {
                "get": url,
                "cancel": f"{url}/cancel",
                "web": f"https://replicate.com/p/{job.id}",
            },
        }


def _input_problem(schema: Schema, payload: dict[str, Any]) -> tuple[str, str] | None:
    """(field, description) of the first input the schema refuses, or None."""
    for name in sorted(set(payload) - COMMON_FIELDS - schema.extra_fields):
        # ASSUMPTION: unknown inputs are refused; stricter catches adapter mistakes.
        return name, f"{name} is not an input of this model"
    prompt = payload.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return "prompt", "prompt is required"
    size = payload.get("size", "2K")
    if size not in schema.sizes:
        return "size", f"size must be one of: {', '.join(schema.sizes)}"
    if payload.get("aspect_ratio", schema.aspects[0]) not in schema.aspects:
        return "aspect_ratio", f"aspect_ratio must be one of: {', '.join(schema.aspects)}"
    low, high = SIDE_RANGE
    for side in ("width", "height"):
        if side in payload and not whole_in(payload[side], low, high):
            return side, f"{side} must be an integer between {low} and {high}"
    images = payload.get("image_input", [])
    if not isinstance(images, list) or not all(map(is_image_reference, images)):
        return "image_input", "image_input must be a list of URIs"
    if len(images) > schema.max_inputs:
        return "image_input", f"image_input takes at most {schema.max_inputs} images"
    mode = payload.get("sequential_image_generation", "disabled")
    if mode not in ("disabled", "auto"):
        return "sequential_image_generation", "must be one of: disabled, auto"
    max_images = payload.get("max_images", 1)
    if not whole_in(max_images, 1, MAX_TOTAL_IMAGES):
        return "max_images", f"max_images must be an integer between 1 and {MAX_TOTAL_IMAGES}"
    if mode == "auto" and len(images) + max_images > MAX_TOTAL_IMAGES:
        return "max_images", "total images (input + generated) cannot exceed 15"
    if payload.get("output_format", "png") not in ("png", "jpeg"):
        return "output_format", "output_format must be one of: png, jpeg"
    for flag in ("enhance_prompt", "disable_safety_checker"):
        if not isinstance(payload.get(flag, False), bool):
            return flag, f"{flag} must be a boolean"
    return None


def _prefer_wait_s(header: str) -> int:
    """Seconds a `Prefer` header asks the create to hold; 0 for none (or one not understood)."""
    found = PREFER_WAIT.match(header)
    if found is None:
        return 0
    return min(int(found[1]) if found[1] else PREFER_WAIT_MAX_S, PREFER_WAIT_MAX_S)


def _json_object(request: EmulatorRequest) -> dict[str, Any] | None:
    try:
        body = request.json
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _dimensions(payload: dict[str, Any]) -> tuple[int, int]:
    size = payload.get("size", "2K")
    if size == "custom":
        return payload.get("width", 2048), payload.get("height", 2048)
    aspect = payload.get("aspect_ratio", "match_input_image")
    width, height = ARK_TIER_SIZES[size]["1:1" if aspect == "match_input_image" else aspect]
    return width, height


def _fault_reply(fault: Fault | None) -> EmulatorResponse | None:
    """The answer for a fault that replaces the HTTP exchange; None for outcome faults."""
    if fault is None:
        return None
    if fault.kind == "rate_limit":
        seconds = f"{fault.seconds:g}" if fault.seconds else "1"
        return EmulatorResponse.json(
            429,
            {"detail": f"Request was throttled. Your rate limit resets in ~{seconds}s."},
            retry_after_headers(fault),
        )
    if fault.kind == "server_error":
        return _problem(500, "Internal Server Error", "Something went wrong on our end.")
    if fault.kind == "unavailable":
        return gateway_unavailable()
    if fault.kind == "malformed":
        return malformed_reply()
    if fault.kind == "auth":
        return _unauthenticated()
    return None


def _problem(status: int, title: str, detail: str, **extra: Any) -> EmulatorResponse:
    return EmulatorResponse.json(
        status,
        {"title": title, "detail": detail, "status": status, **extra},
        {"Content-Type": "application/problem+json"},
    )


def _invalid(name: str, description: str) -> EmulatorResponse:
    return _problem(
        422,
        "Input validation failed",
        f"- input.{name}: {description}",
        invalid_fields=[{"type": "invalid", "field": f"input.{name}", "description": description}],
    )


def _unauthenticated() -> EmulatorResponse:
    return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")


def whole_in(value: object, low: int, high: int) -> bool:
    """An int (not a bool) within [low, high], as a JSON-schema integer field wants."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
