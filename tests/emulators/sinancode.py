"""SinanCode's Seedream task API as a fake server (providers.md §5, §9; SinanCode's page, seed 003).

Routes under `/v1` (tests use `emulator.api_url` as the account's base URL):
`POST /v1/generate/vol/seedream` validates the documented fields (prompt 1-2,000 characters;
`images` at most 14; `max_images` 1-15 with input + generated <= 15; `size` a tier of the
version or WIDTHxHEIGHT; `version` 4.0 / 4.5 / 5.0-lite) and answers `{"task_id"}`;
`GET /v1/tasks/{id}` answers `{"id", "status", "error_code", "error_msg", "result"}`. Bearer.

ASSUMPTIONS where §5 says "not found": a task is `pending` before it runs (§9.7: anything but
`processing`/`completed`/`failed` means queued); HTTP errors are `{"error_code", "error_msg"}`;
unknown fields are refused; explicit sizes follow Ark's pixel ranges per version (§9.3); a tier
comes out square; `images` holds URLs only (a data URI is refused: seed 003 documents URLs), each
fetched when the task is accepted if the emulator has a `reference_transport`; an unknown task
id is a 404;
refusals relay Ark's `InputTextSensitiveContentDetected`. `result` holds URL strings, or
`{"type", "url"}` objects with `result_objects=True` (both renderings exist, §5).

Jobs finish after `ready_after_polls` status polls, or `job_seconds` of wall time after submit
(`JobEmulator`, job_emulator.py); a polled task reads `processing` until then.
Faults as in the Scenario emulator: rate_limit, server_error, unavailable, malformed and auth
replace an answer; stuck, fail_after_run, refuse, partial, expired_url and flaky_download ride
on the task. There is no cancel route: SinanCode documents none.
"""

from __future__ import annotations

import uuid
from typing import Any, Unpack

from tests.emulators.base import (
    EmulatorRequest,
    EmulatorResponse,
    Fault,
    is_url,
    parse_size,
)
from tests.emulators.job_emulator import (
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Job,
    JobEmulator,
    JobEmulatorOptions,
)
from tests.emulators.siraya import (
    bearer_token,
    gateway_unavailable,
    malformed_reply,
    retry_after_headers,
)

KNOWN_FIELDS = frozenset({"prompt", "images", "max_images", "size", "version"})
VERSION_TIERS = {"5.0-lite": ("2K", "3K"), "4.5": ("2K", "4K"), "4.0": ("2K", "4K")}
VERSION_PIXELS = {
    "5.0-lite": (3_686_400, 10_404_496),
    "4.5": (3_686_400, 16_777_216),
    "4.0": (921_600, 16_777_216),
}
TIER_SIDES = {"2K": 2048, "3K": 3072, "4K": 4096}
REFUSAL = ("InputTextSensitiveContentDetected", "The input text may contain sensitive content.")
RUN_FAILURE = ("generation_failed", "The upstream generation failed.")


def fault_reply(fault: Fault | None, error: Any) -> EmulatorResponse | None:
    """The answer for a fault that replaces the exchange, in the provider's `error` envelope;
    None for no fault or a job fault."""
    if fault is None:
        return None
    if fault.kind == "rate_limit":
        return error(429, "rate_limited", "Too many requests", headers=retry_after_headers(fault))
    if fault.kind == "server_error":
        return error(500, "internal_error", "Internal server error")
    if fault.kind == "unavailable":
        return gateway_unavailable()
    if fault.kind == "malformed":
        return malformed_reply()
    if fault.kind == "auth":
        return error(401, "unauthorized", "Invalid API key")
    return None


class SinanCodeEmulator(JobEmulator):
    name = "sinancode"
    shows_queued_polls = False  # a polled task is `processing` until it is done
    refuses_at_first_poll = True  # moderation runs before any generation
    failure_follows_run = True

    def __init__(
        self,
        *,
        result_objects: bool = False,
        **options: Unpack[JobEmulatorOptions],
    ) -> None:
        super().__init__(**options)
        self.result_objects = result_objects
        self.route("POST", r"/v1/generate/vol/seedream", self._generate)
        self.route("GET", r"/v1/tasks/(?P<task>[A-Za-z0-9_-]+)", self._task)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"

    def _generate(self, request: EmulatorRequest) -> EmulatorResponse:
        if bearer_token(request) != self.api_key:
            return _error(401, "unauthorized", "Invalid API key")
        try:
            body = request.json
        except ValueError:
            body = None
        prompt = body.get("prompt") if isinstance(body, dict) else ""
        fault = self.fault_for(request, prompt if isinstance(prompt, str) else "")
        early = fault_reply(fault, _error)
        if early is not None:
            return early
        if not isinstance(body, dict):
            return _error(400, "invalid_request", "The request body must be a JSON object")
        problem = _problem(body)
        if problem:
            return _error(400, "invalid_parameter", problem)
        # ASSUMPTION: references are downloaded when the task is accepted, and a link that
        # serves no image refuses the task there (the page documents no error for it).
        unfetchable = next(filter(None, map(self.fetch_reference, body.get("images", []))), "")
        if unfetchable:
            return _error(400, "invalid_parameter", unfetchable)
        width, height = _output_size(body)
        job = self.add_job(
            Job(
                id=str(uuid.uuid4()),
                params=body,
                fault=self.job_fault(fault),
                width=width,
                height=height,
                count=int(body.get("max_images", 1)),
            )
        )
        return EmulatorResponse.json(200, {"task_id": job.id})

    def _task(self, request: EmulatorRequest) -> EmulatorResponse:
        if bearer_token(request) != self.api_key:
            return _error(401, "unauthorized", "Invalid API key")
        early = fault_reply(self.fault_for(request), _error)
        if early is not None:
            return early
        assert request.match is not None
        job = self.find_job(request.match["task"])
        if job is None:
            return _error(404, "task_not_found", "Task not found")
        self.advance(job, poll=True)
        return EmulatorResponse.json(200, self._record(job))

    def _record(self, job: Job) -> dict[str, Any]:
        status = {QUEUED: "pending", RUNNING: "processing", SUCCEEDED: "completed"}.get(
            job.phase, "failed"
        )
        code, message = "", ""
        if job.phase == FAILED:
            code, message = REFUSAL if job.fault == "refuse" else RUN_FAILURE
        result: list[Any] = list(job.outputs)
        if self.result_objects:
            result = [{"type": "image", "url": url} for url in result]
        return {
            "id": job.id,
            "status": status,
            "error_code": code,
            "error_msg": message,
            "result": result,
        }


def _problem(body: dict[str, Any]) -> str:
    """The 400 message for the first rule `body` breaks, or ""."""
    unknown = sorted(set(body) - KNOWN_FIELDS)
    if unknown:
        return f"unknown field: {unknown[0]}"
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not 1 <= len(prompt.strip()) <= 2000:
        return "prompt must be 1 to 2000 characters"
    version = body.get("version", "5.0-lite")
    if version not in VERSION_TIERS:
        return "version must be one of 4.0, 4.5, 5.0-lite"
    images = body.get("images", [])
    # "Input images ... Example: [\"https://example.com/1.jpg\", ...]" (seed 003): URLs only.
    # ASSUMPTION: a data URI is refused with this message.
    if not isinstance(images, list) or not all(map(is_url, images)):
        return "images must be a list of image URLs"
    if len(images) > 14:
        return "images takes at most 14 reference images"
    max_images = body.get("max_images", 1)
    if not isinstance(max_images, int) or isinstance(max_images, bool):
        return "max_images must be an integer from 1 to 15"
    if not 1 <= max_images <= 15:
        return "max_images must be an integer from 1 to 15"
    if len(images) + max_images > 15:
        return "input images plus generated images must not exceed 15"
    return _size_problem(body.get("size", "2K"), version)


def _size_problem(size: object, version: str) -> str:
    if not isinstance(size, str):
        return "size must be a string"
    if size in TIER_SIDES:
        tiers = VERSION_TIERS[version]
        return "" if size in tiers else f"size for {version} must be {' or '.join(tiers)} or WxH"
    dimensions = parse_size(size)
    if dimensions is None:
        return "size must be a tier or WIDTHxHEIGHT"
    width, height = dimensions
    low, high = VERSION_PIXELS[version]
    if not low <= width * height <= high:
        return f"size for {version} must have {low} to {high} pixels"
    if not 1 / 16 <= width / height <= 16:
        return "aspect ratio must be between 1/16 and 16"
    return ""


def _output_size(params: dict[str, Any]) -> tuple[int, int]:
    size = params.get("size", "2K")
    if size in TIER_SIDES:
        return TIER_SIDES[size], TIER_SIDES[size]
    dimensions = parse_size(size)
    assert dimensions is not None  # validated at submit
    return dimensions


def _error(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> EmulatorResponse:
    return EmulatorResponse.json(status, {"error_code": code, "error_msg": message}, headers)
