"""Ace Data Cloud's Seedream API as a fake server (providers.md §4, §9; Ace's page, seed 002).

`POST /seedream/images` validates Ace's fields the way its docs describe them (full model ids
only, per-model size presets and seed/guidance/group/output-format rules, `image` a list) and
answers `{"success": true, "task_id", "trace_id", "data": [{"prompt", "size", "image_url"}]}`
with links to images it serves itself. With `async: true` it answers `{"task_id"}` at once and
`POST /seedream/tasks` (`{"id", "action": "retrieve"}` or `{"ids", "action": "retrieve_batch"}`)
returns the task record, which gets its `response` once the job base's timeline finishes the
task (`ready_after_polls`, `job_seconds`); until then a task reads the same whether queued or
running: Ace has no queued status.
Errors: `{"success": false, "error": {"code", "message"}, "trace_id"}` with §4.3's codes.

Every ASSUMPTION below marks behaviour providers.md calls "not found"; where Ace only relays
Ark's rules (size ranges, reference counts) they come from §1 and are marked too.

Faults (see base.FAULT_KINDS): latency, drop and hang come from the base; rate_limit is 429
`too_many_requests` with Retry-After; unavailable a gateway's plain-text 503; malformed a 200
that is not JSON; auth 401 `invalid_token`. The outcome faults shape the generation itself:
server_error (500 `api_error`, before any task exists), refuse (a content refusal), partial
(the last image of the group fails), expired_url (links already gone). With `async: true` the
call was accepted, so an outcome fault lands in the task's `response` instead: a task that
fails with `success: false` (refuse, or fail_after_run for Ace's `api_error`), or finishes
partly, or stays unfinished (stuck), or with links that answer 404 once (flaky_download, in
either mode). Faults queued with `path="/seedream/tasks"` hit polls.
`out_of_balance=True` answers 403 `used_up` (no base fault kind for it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Unpack

from tests.emulators.base import (
    EmulatorRequest,
    EmulatorResponse,
    Fault,
    parse_size,
)
from tests.emulators.job_emulator import FAILED, SUCCEEDED, Job, JobEmulator, JobEmulatorOptions
from tests.emulators.siraya import (
    bearer_token,
    gateway_unavailable,
    is_image_reference,
    malformed_reply,
    retry_after_headers,
)

MAX_GROUP_IMAGES = 15  # references + generated, as on Ark (§4.2 max_images note)
REFUSAL_MESSAGE = (
    "The request failed because the input text may contain sensitive information "
    "(InputTextSensitiveContentDetected)."
)
KNOWN_FIELDS = frozenset(
    {
        "action", "model", "prompt", "image", "size", "seed", "sequential_image_generation",
        "sequential_image_generation_options", "stream", "guidance_scale", "response_format",
        "watermark", "output_format", "tools", "optimize_prompt_options", "background",
        "layer_decomposition", "callback_url", "async",
    }
)  # fmt: skip
PRESET_SQUARES = {"1K": 1024, "2K": 2048, "3K": 3072, "4K": 4096}
ADAPTIVE = "adaptive"
# ASSUMPTION: "adaptive" follows the reference's shape; the emulator answers a square.
ADAPTIVE_DIMENSIONS = (1024, 1024)


@dataclass(frozen=True)
class ModelRules:
    presets: tuple[str, ...]
    pixel_range: tuple[int, int]
    default_size: str
    max_references: int
    group: bool = False
    seed: bool = False  # only 3.0-t2i: "other models do not accept this parameter" (seed 002)
    guidance: bool = False
    output_format: bool = False
    needs_reference: bool = False


# Presets per model are Ace's (seed 002). ASSUMPTION: WxH ranges and reference counts are Ark's
# (§1.3, §1.4), which Ace relays; SeedEdit takes "adaptive" or a WxH in 3.0's range.
MODELS: dict[str, ModelRules] = {
    "doubao-seedream-5-0-260128": ModelRules(
        presets=("2K", "3K", "4K"),
        pixel_range=(3_686_400, 10_404_496),
        default_size="2048x2048",
        max_references=14,
        group=True,
        output_format=True,
    ),
    "doubao-seedream-4-5-251128": ModelRules(
        presets=("2K", "4K"),
        pixel_range=(3_686_400, 16_777_216),
        default_size="2048x2048",
        max_references=14,
        group=True,
    ),
    "doubao-seedream-4-0-250828": ModelRules(
        presets=("1K", "2K", "4K"),
        pixel_range=(921_600, 16_777_216),
        default_size="2048x2048",
        max_references=14,
        group=True,
    ),
    "doubao-seedream-3-0-t2i-250415": ModelRules(
        presets=(),
        pixel_range=(262_144, 4_194_304),
        default_size="1024x1024",
        max_references=0,
        seed=True,
        guidance=True,
    ),
    "doubao-seededit-3-0-i2i-250628": ModelRules(
        presets=(ADAPTIVE,),
        pixel_range=(262_144, 4_194_304),
        default_size=ADAPTIVE,
        max_references=1,
        guidance=True,
        needs_reference=True,
    ),
}
MODELS["doubao-seedream-5-0-lite-260128"] = MODELS["doubao-seedream-5-0-260128"]  # guide alias


@dataclass(kw_only=True)
class AceTask(Job):
    response: dict[str, Any] | None = None  # the generation's reply, once the task has finished


class AceDataEmulator(JobEmulator):
    """Ace's async tasks are jobs: the outcome faults ride on them and land in `response`."""

    name = "acedata"
    shows_queued_polls = False  # a task record has no status: it has a `response` or not

    def __init__(
        self, *, out_of_balance: bool = False, **options: Unpack[JobEmulatorOptions]
    ) -> None:
        super().__init__(**options)
        self.out_of_balance = out_of_balance
        self.route("POST", r"/seedream/images", self._images)
        self.route("POST", r"/seedream/tasks", self._tasks)

    # --- /seedream/images ----------------------------------------------------------------
    def _images(self, request: EmulatorRequest) -> EmulatorResponse:
        denied = self._auth_problem(request)
        if denied is not None:
            return denied
        body = _json_body(request)
        if body is None:
            return _error(400, "bad_request", "The request body must be a JSON object.")
        prompt = body.get("prompt")
        fault = self.fault_for(request, prompt if isinstance(prompt, str) else "")
        early = _fault_reply(fault)
        if early is not None:
            return early
        if self.out_of_balance:
            return _error(403, "used_up", "Your balance is insufficient, please recharge.")
        problem = _validation_problem(body)
        if problem:
            return _error(400, "bad_request", problem)
        fault_kind = fault.kind if fault is not None else ""
        if body.get("async") and fault_kind != "server_error":
            task = self.add_job(
                AceTask(id=str(uuid.uuid4()), params=body, fault=self.job_fault(fault))
            )
            return EmulatorResponse.json(200, {"task_id": task.id})
        status, payload = self._outcome(body, fault_kind, task_id=str(uuid.uuid4()))
        return EmulatorResponse.json(status, payload)

    def _outcome(
        self, body: dict[str, Any], fault_kind: str, *, task_id: str
    ) -> tuple[int, dict[str, Any]]:
        """The status and reply of a generation, sync or as a finished task's `response`."""
        if fault_kind == "refuse":
            # ASSUMPTION: Ace relays Ark's refusal as a `bad_request` message (§9.8).
            return 400, _envelope("bad_request", REFUSAL_MESSAGE)
        if fault_kind in ("server_error", "fail_after_run"):
            return 500, _envelope("api_error", "fetch failed")  # the guide's own example
        rules = MODELS[body["model"]]
        width, height = _dimensions(rules, body.get("size"))
        count = 1
        if body.get("sequential_image_generation") == "auto":
            options = body.get("sequential_image_generation_options") or {}
            count = options.get("max_images", MAX_GROUP_IMAGES)
        data: list[dict[str, Any]] = []
        for _ in range(count):
            url = self.store_image(width=width, height=height, seed=self.next_seed())
            data.append({"prompt": body["prompt"], "size": f"{width}x{height}", "image_url": url})
        if fault_kind == "partial":
            # ASSUMPTION: Ace passes Ark's per-image `data[].error` through (§9.8).
            data[-1] = {
                "error": {
                    "code": "OutputImageSensitiveContentDetected",
                    "message": "The output image may contain sensitive information.",
                }
            }
        if fault_kind == "expired_url":
            self.expire_files()
        if fault_kind == "flaky_download":
            for item in data:
                if "image_url" in item:
                    self.make_flaky(item["image_url"])
        reply = {"success": True, "task_id": task_id, "trace_id": str(uuid.uuid4()), "data": data}
        return 200, reply

    # --- /seedream/tasks -----------------------------------------------------------------
    def _tasks(self, request: EmulatorRequest) -> EmulatorResponse:
        denied = self._auth_problem(request)
        if denied is not None:
            return denied
        body = _json_body(request)
        if body is None:
            return _error(400, "bad_request", "The request body must be a JSON object.")
        fault = self.fault_for(request)
        if fault is not None and fault.kind == "server_error":
            return _error(500, "api_error", "fetch failed")
        early = _fault_reply(fault)
        if early is not None:
            return early
        action = body.get("action")
        if action == "retrieve":
            task = self.find_job(str(body.get("id")))
            if not isinstance(task, AceTask):
                # ASSUMPTION: the status and code for an unknown task id.
                return _error(404, "not_found", f"task {body.get('id')} not found")
            return EmulatorResponse.json(200, self._poll(task))
        if action == "retrieve_batch" and isinstance(body.get("ids"), list):
            found = [self.find_job(str(id_)) for id_ in body["ids"]]
            items = [self._poll(task) for task in found if isinstance(task, AceTask)]
            return EmulatorResponse.json(200, {"items": items, "count": len(items)})
        return _error(400, "bad_request", "action must be retrieve or retrieve_batch.")

    @property
    def tasks(self) -> dict[str, Job]:
        """The async tasks by id (the job book under Ace's name)."""
        return self.jobs

    def land_outcome(self, job: Job) -> None:
        """A finished task's `response` is the reply the same request would get in sync mode."""
        assert isinstance(job, AceTask)
        _, job.response = self._outcome(job.params, job.fault, task_id=job.id)
        job.phase = SUCCEEDED if job.response.get("success") else FAILED

    def _poll(self, task: AceTask) -> dict[str, Any]:
        """One look at a task, which moves it along its timeline."""
        self.advance(task, poll=True)
        record: dict[str, Any] = {
            "id": task.id,
            "type": "images",
            "request": task.params,
            "created_at": task.created_wall,
            "trace_id": str(uuid.uuid4()),
        }
        # ASSUMPTION: a running task has no `response` key at all (the MCP only says pending
        # while `response.success` is absent).
        if task.response is not None and task.finished_wall is not None:
            record["response"] = task.response
            record["finished_at"] = task.finished_wall
            record["elapsed"] = round(task.finished_wall - task.created_wall, 3)
        return record

    def _auth_problem(self, request: EmulatorRequest) -> EmulatorResponse | None:
        token = bearer_token(request)
        if not token:
            return _error(400, "no_token", "Please provide a token.")
        if token != self.api_key:
            return _error(401, "invalid_token", "The token is invalid.")
        return None


def _validation_problem(body: dict[str, Any]) -> str:
    """Ace's 400 message for the first rule `body` breaks, or ""."""
    unknown = sorted(set(body) - KNOWN_FIELDS)
    if unknown:
        # ASSUMPTION: unknown fields are rejected; stricter catches adapter mistakes.
        return f"{unknown[0]} is not a supported parameter."
    if body.get("action", "generate") != "generate":
        return "action must be generate."  # ASSUMPTION
    rules = MODELS.get(str(body.get("model")))
    if rules is None:
        return "model is invalid."  # Ace's own words (§4.3); abbreviations land here
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return "prompt is required."
    problem = _size_problem(rules, body.get("size", rules.default_size))
    if problem:
        return problem
    images = body.get("image", [])
    if not isinstance(images, list) or not all(map(is_image_reference, images)):
        return "image must be a list of image URLs or base64 data URIs."
    if len(images) > rules.max_references:
        return f"at most {rules.max_references} reference images are allowed for this model."
    if rules.needs_reference and not images:
        return "image is required for image-to-image models."
    for name, taken in (("seed", rules.seed), ("guidance_scale", rules.guidance)):
        if name in body and not taken:
            return f"{name} is not supported by this model."
    if "seed" in body and not _whole_in(body["seed"], -1, 2_147_483_647):
        return "seed must be an integer in [-1, 2147483647]."
    guidance = body.get("guidance_scale", 5.0)
    if isinstance(guidance, bool) or not isinstance(guidance, int | float):
        return "guidance_scale must be a number in [1, 10]."
    if not 1 <= guidance <= 10:
        return "guidance_scale must be a number in [1, 10]."
    problem = _group_problem(rules, body, len(images))
    if problem:
        return problem
    if not isinstance(body.get("watermark", True), bool):
        return "watermark must be a boolean."
    if body.get("response_format", "url") != "url":
        # ASSUMPTION: the b64_json reply shape is not documented, so the emulator does not make
        # one up; an adapter asking for it fails loudly here.
        return "response_format b64_json is not emulated."
    if "output_format" in body and not rules.output_format:
        return "output_format is only supported by doubao-seedream-5.0-lite."
    if body.get("output_format", "jpeg") not in ("jpeg", "png"):
        return "output_format must be jpeg or png."
    if body.get("stream") or "callback_url" in body:
        return "stream and callback_url are not emulated."  # ASSUMPTION: not used by us
    if not isinstance(body.get("async", False), bool):
        return "async must be a boolean."
    return ""


def _size_problem(rules: ModelRules, size: object) -> str:
    if not isinstance(size, str):
        return "size must be a string."
    if size in PRESET_SQUARES or size == ADAPTIVE:
        return "" if size in rules.presets else f"size {size} is not supported by this model."
    dimensions = parse_size(size)
    if dimensions is None:
        return "size must be 1K, 2K, 3K, 4K, adaptive or WIDTHxHEIGHT."
    width, height = dimensions
    low, high = rules.pixel_range
    if not low <= width * height <= high:
        return f"image size must be between {low} and {high} pixels."
    if not 1 / 16 <= width / height <= 16:
        return "aspect ratio must be between 1/16 and 16."
    return ""


def _group_problem(rules: ModelRules, body: dict[str, Any], references: int) -> str:
    mode = body.get("sequential_image_generation")
    options = body.get("sequential_image_generation_options")
    if (mode is not None or options is not None) and not rules.group:
        return "sequential_image_generation is not supported by this model."
    if mode not in (None, "auto", "disabled"):
        return "sequential_image_generation must be auto or disabled."
    if options is None:
        return ""
    if not isinstance(options, dict) or not _whole_in(options.get("max_images"), 1, 15):
        return "sequential_image_generation_options.max_images must be in [1, 15]."
    if mode == "auto" and references + options["max_images"] > MAX_GROUP_IMAGES:
        return "the number of reference images plus max_images must not exceed 15."
    return ""


def _dimensions(rules: ModelRules, size: object) -> tuple[int, int]:
    size = size if isinstance(size, str) else rules.default_size
    if size == ADAPTIVE:
        return ADAPTIVE_DIMENSIONS
    if size in PRESET_SQUARES:
        # ASSUMPTION: with no shape in the prompt a preset comes out square (Ark's 1:1 row).
        return PRESET_SQUARES[size], PRESET_SQUARES[size]
    dimensions = parse_size(size)
    assert dimensions is not None  # validated already
    return dimensions


def _fault_reply(fault: Fault | None) -> EmulatorResponse | None:
    """The answer for a fault that replaces the HTTP exchange; None for outcome faults."""
    if fault is None:
        return None
    if fault.kind == "rate_limit":
        return _error(
            429, "too_many_requests", "Too many requests.", headers=retry_after_headers(fault)
        )
    if fault.kind == "unavailable":
        return gateway_unavailable()
    if fault.kind == "malformed":
        return malformed_reply()
    if fault.kind == "auth":
        return _error(401, "invalid_token", "The token is invalid.")
    return None


def _json_body(request: EmulatorRequest) -> dict[str, Any] | None:
    try:
        body = request.json
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _whole_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _envelope(code: str, message: str) -> dict[str, Any]:
    return {
        "success": False,
        "error": {"code": code, "message": message},
        "trace_id": str(uuid.uuid4()),
    }


def _error(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> EmulatorResponse:
    return EmulatorResponse.json(status, _envelope(code, message), headers)
