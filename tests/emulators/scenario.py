"""Scenario's generation API as a fake server (providers.md §3; its Bytedance table, seed 000).

Routes under `/v1` (tests use `emulator.api_url` as the account's base URL): `POST
/v1/generate/custom/{modelId}` validates the model's flat parameters the way the table lists
them and answers `{"job": {"jobId", "status": "queued", ...}, "creativeUnitsCost"}`; `GET
/v1/jobs/{jobId}` moves the job on; `POST /v1/jobs/{jobId}/action` cancels it; `POST /v1/assets`
stores an uploaded reference and `GET /v1/assets/{id}` answers `{"asset": {"id", "url",
"mimeType", ...}}` for references and results alike; `GET /v1/models` lists the five models.
Uploads follow Scenario's "Uploading Assets" guide (docs.scenario.com/get-started/content/
uploading-assets): `POST /v1/assets` takes images under 6MB and refuses larger ones (ASSUMPTION:
with a 400 naming `/v1/uploads`); larger images go through the multi-part flow: `POST
/v1/uploads` answers the upload with a presigned URL per part, each part is `PUT` there
(refused if it carries an Authorization header too, as S3 refuses two auth mechanisms, or if a
part but the last is under S3's 5 MiB), `POST /v1/uploads/{id}/action` `{"action": "complete"}`
assembles it (status `validating`), and `GET /v1/uploads/{id}` then answers it `imported` with
its asset's id in `entityId` (docs.scenario.com/api/resources/uploads/methods/trigger_action,
sdk-helpers/uploads).
HTTP Basic over `api_key` ("KEY:SECRET"). Errors: `{"message", "reason"}` (§3.4, a skill doc).

Every ASSUMPTION marks what §3 calls "not found": the running status spelling ("in-progress"),
the failure reason's shape (a string in `job.metadata.error`, where Scenario's SDK models it;
`failure_field="job"` puts it at the top-level `job.error` of older copies, "both" adds a
generic `job.error` beside it), the cancel body (`{"action": "cancel"}`), the output size
of a tier (our catalog's tables, which Scenario does not print), strict refusal of unknown
parameters, and a job making exactly `maxImages` images when sequential generation is on.

Jobs finish after `ready_after_polls` status polls, or `job_seconds` of wall time after submit
when that is given (`JobEmulator`, job_emulator.py). Faults: latency, drop
and hang from the base; rate_limit (429 + Retry-After), server_error (500), unavailable (a
gateway's 503), malformed (a 200 that is not JSON) and auth (401) replace the answer to the
request they meet (queue them with `path="/jobs/"` to hit polls). The job faults ride on the
submitted job: stuck (queued forever), fail_after_run (runs, then `failure`), refuse (`failure`
naming content moderation), partial (a group comes back one image short), expired_url (result
links already gone), flaky_download (each result link answers 404 once).
"""

from __future__ import annotations

import base64
import binascii
import io
import secrets
import threading
from dataclasses import dataclass
from typing import Any, Unpack

from PIL import Image

from generations.catalog.sizes import ARK_TIER_SIZES, DREAMINA_TIER_SIZES
from tests.emulators.base import EmulatorRequest, EmulatorResponse, Fault
from tests.emulators.job_emulator import (
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Job,
    JobEmulator,
    JobEmulatorOptions,
)
from tests.emulators.sinancode import fault_reply

# Written out from seed 000 again, not imported from the adapter: the emulator is the witness.
# "POST /v1/assets - For uploading small images (< 6MB)" (the Uploading Assets guide).
ASSET_BELOW_BYTES = 6_000_000
S3_MIN_PART_BYTES = 5 * 1024 * 1024  # S3 multipart: every part but the last
IMAGE_TYPES = ("image/png", "image/jpeg")
RATIOS = ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "21:9")
REFUSAL_ERROR = "Your request was blocked by content moderation (sensitive content detected)."
RUN_FAILURE_ERROR = "Inference failed: the model provider returned an internal error."
CREDITS_PER_IMAGE = 10  # ASSUMPTION: no stored price for these models


@dataclass(frozen=True)
class ScenarioModel:
    params: frozenset[str]
    sizes: tuple[str, ...] = ()  # `size` (4.x Edit)
    resolutions: tuple[str, ...] = ()  # `resolution` (Dreamina)
    ratios: tuple[str, ...] = ()
    sides: tuple[int, int] | None = None  # `width` / `height`
    height_sides: tuple[int, int] | None = None  # `height`, where it differs from `width`
    max_references: int = 0
    group: bool = False


_EDIT = frozenset(
    {"prompt", "referenceImages", "size", "aspectRatio", "sequentialImageGeneration", "maxImages"}
)
MODELS: dict[str, ScenarioModel] = {
    "model_bytedance-seedream-4-editing": ScenarioModel(
        _EDIT, sizes=("4K", "2K", "1K"), ratios=(*RATIOS, "auto"), max_references=14, group=True
    ),
    "model_bytedance-seedream-4-5-editing": ScenarioModel(
        _EDIT, sizes=("4K", "2K"), ratios=(*RATIOS, "auto"), max_references=10, group=True
    ),
    # Width 1024-4704, height 1024-4096 (seed 000's min/max columns); ASSUMPTION: 14 references.
    "model_bytedance-seedream-5-0-lite": ScenarioModel(
        (_EDIT - {"size"}) | {"width", "height"},
        ratios=("match_input_image", *RATIOS),
        sides=(1024, 4704),
        height_sides=(1024, 4096),
        max_references=14,
        group=True,
    ),
    "model_bytedance-seedream-3": ScenarioModel(
        frozenset({"prompt", "width", "height", "seed"}), sides=(512, 2048)
    ),
    "model_bytedance-dreamina-3-1": ScenarioModel(
        frozenset({"prompt", "aspectRatio", "resolution", "width", "height", "seed"}),
        resolutions=("1K", "2K"),
        ratios=("9:21", "9:16", "2:3", "3:4", "1:1", "3:2", "4:3", "16:9", "21:9", "custom"),
        sides=(512, 3024),
    ),
}


class ScenarioEmulator(JobEmulator):
    name = "scenario"
    shows_queued_polls = False  # a polled job is `in-progress` until it is done
    refuses_at_first_poll = True  # moderation runs before any generation
    failure_follows_run = True

    def __init__(
        self,
        *,
        launch_id_field: str = "jobId",  # a docs copy shows `id` (§3.1)
        # "job": the reason at `job.error` instead; "both": a generic `job.error` besides it
        failure_field: str = "metadata",
        **options: Unpack[JobEmulatorOptions],
    ) -> None:
        options.setdefault("api_key", "test-key:test-secret")  # Scenario's key is KEY:SECRET
        super().__init__(**options)
        self.launch_id_field = launch_id_field
        self.failure_field = failure_field
        self.assets: dict[str, dict[str, Any]] = {}
        # Assets, uploads and the counter; never the base lock. Taken inside a job's lock.
        self._state_lock = threading.Lock()
        self._counter = 0
        self.route("POST", r"/v1/generate/custom/(?P<model>[A-Za-z0-9_.-]+)", self._generate)
        self.route("GET", r"/v1/jobs/(?P<job>[A-Za-z0-9_-]+)", self._job)
        self.route("POST", r"/v1/jobs/(?P<job>[A-Za-z0-9_-]+)/action", self._action)
        self.route("POST", r"/v1/assets", self._upload)
        self.route("GET", r"/v1/assets/(?P<asset>[A-Za-z0-9_-]+)", self._asset)
        self.route("GET", r"/v1/models", self._models)
        self.route("POST", r"/v1/uploads", self._upload_create)
        self.route("POST", r"/v1/uploads/(?P<upload>[A-Za-z0-9_-]+)/action", self._upload_action)
        self.route("GET", r"/v1/uploads/(?P<upload>[A-Za-z0-9_-]+)", self._upload_get)
        # The presigned part URLs (S3 in production), outside the API and its credentials.
        self.route("PUT", r"/part-storage/(?P<upload>[A-Za-z0-9_-]+)/(?P<part>[0-9]+)", self._part)
        self.uploads: dict[str, dict[str, Any]] = {}
        self._parts: dict[str, dict[int, bytes]] = {}

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"

    # --- routes --------------------------------------------------------------------------
    def _generate(self, request: EmulatorRequest) -> EmulatorResponse:
        body = request.json if _is_json_object(request) else None
        prompt = body.get("prompt") if isinstance(body, dict) else ""
        early = self._gate(request, prompt if isinstance(prompt, str) else "")
        if isinstance(early, EmulatorResponse):
            return early
        assert request.match is not None
        model = MODELS.get(request.match["model"])
        if model is None:
            return _error(404, "model_not_found", f"Model {request.match['model']} not found")
        if body is None:
            return _error(400, "invalid_body", "The request body must be a JSON object")
        problem = self._problem(model, body)
        if problem:
            return _error(400, "invalid_parameter", problem)
        model_id = request.match["model"]
        width, height = _output_size(model_id, body)
        grouped = body.get("sequentialImageGeneration") == "auto"
        with self._state_lock:
            job_id = self._next_id("job")
        job = self.add_job(
            Job(
                id=job_id,
                params=body,
                model=model_id,
                fault=self.job_fault(early),
                width=width,
                height=height,
                count=int(body.get("maxImages", 1)) if grouped else 1,
            )
        )
        record = self._job_record(job)
        record[self.launch_id_field] = record.pop("jobId")
        cost = CREDITS_PER_IMAGE * int(body.get("maxImages", 1))
        return EmulatorResponse.json(200, {"job": record, "creativeUnitsCost": cost})

    def _job(self, request: EmulatorRequest) -> EmulatorResponse:
        early = self._gate(request)
        if isinstance(early, EmulatorResponse):
            return early
        assert request.match is not None
        job = self.find_job(request.match["job"])
        if job is None:
            return _error(404, "not_found", f"Job {request.match['job']} not found")
        self.advance(job, poll=True)
        return EmulatorResponse.json(200, {"job": self._job_record(job)})

    def _action(self, request: EmulatorRequest) -> EmulatorResponse:
        early = self._gate(request)
        if isinstance(early, EmulatorResponse):
            return early
        assert request.match is not None
        body = request.json if _is_json_object(request) else None
        if not isinstance(body, dict) or body.get("action") != "cancel":
            return _error(400, "invalid_action", "action must be cancel")  # ASSUMPTION
        job = self.find_job(request.match["job"])
        if job is None:
            return _error(404, "not_found", f"Job {request.match['job']} not found")
        if not self.cancel_job(job):
            return _error(400, "job_finished", f"Job {job.id} is already {job.phase}")
        record = self._job_record(job)
        return EmulatorResponse.json(200, {"job": record})

    def _upload(self, request: EmulatorRequest) -> EmulatorResponse:
        early = self._gate(request)
        if isinstance(early, EmulatorResponse):
            return early
        body = request.json if _is_json_object(request) else {}
        image = body.get("image")
        decoded = _decode_image(image) if isinstance(image, str) else None
        if decoded is None:
            return _error(400, "invalid_image", "image must be a base64-encoded image")
        content, fmt, (width, height) = decoded
        if len(content) >= ASSET_BELOW_BYTES:
            return _error(
                400, "image_too_large", "Images of 6MB or more must be uploaded with /v1/uploads"
            )
        asset = dict(self._new_asset(content, fmt, width, height), name=str(body.get("name", "")))
        return EmulatorResponse.json(200, {"asset": asset})

    def _new_asset(self, content: bytes, fmt: str, width: int, height: int) -> dict[str, Any]:
        url = self._store_bytes(content, fmt)
        with self._state_lock:
            asset_id = self._next_id("asset")
            self.assets[asset_id] = _asset(asset_id, url, fmt, width, height, "uploaded")
            return dict(self.assets[asset_id])

    # --- multi-part uploads --------------------------------------------------------------
    def _upload_create(self, request: EmulatorRequest) -> EmulatorResponse:
        early = self._gate(request)
        if isinstance(early, EmulatorResponse):
            return early
        body = request.json if _is_json_object(request) else {}
        parts, size = body.get("parts"), body.get("fileSize")
        if not (isinstance(parts, int) and isinstance(size, int) and 1 <= parts <= size):
            return _error(400, "invalid_parameter", "parts and fileSize must be positive integers")
        if not isinstance(body.get("fileName"), str) or body.get("contentType") not in IMAGE_TYPES:
            return _error(
                400, "invalid_parameter", "fileName and an image contentType are required"
            )
        storage = f"{self.base_url}/part-storage"
        with self._state_lock:
            upload_id = self._next_id("upload")
            upload = {
                "id": upload_id,
                "fileName": body["fileName"],
                "contentType": body["contentType"],
                "fileSize": size,
                "kind": body.get("kind", "asset"),
                "source": "multipart",
                "status": "pending",
                "partsCount": parts,
                "parts": [
                    {
                        "number": number,
                        "url": f"{storage}/{upload_id}/{number}?X-Amz-Signature=emulated",
                        "expires": "2099-01-01T00:00:00.000Z",
                    }
                    for number in range(1, parts + 1)
                ],
            }
            self.uploads[upload_id] = upload
            self._parts[upload_id] = {}
            return EmulatorResponse.json(200, {"upload": dict(upload)})

    def _part(self, request: EmulatorRequest) -> EmulatorResponse:
        assert request.match is not None
        if request.header("authorization"):
            # S3: "Only one auth mechanism allowed" (the URL already carries its signature).
            return EmulatorResponse(400, b"InvalidArgument", {"Content-Type": "application/xml"})
        upload_id, number = request.match["upload"], int(request.match["part"])
        with self._state_lock:
            upload = self.uploads.get(upload_id)
            if upload is None or not 1 <= number <= upload["partsCount"]:
                return EmulatorResponse(403, b"SignatureDoesNotMatch", {})
            self._parts[upload_id][number] = request.body
        return EmulatorResponse(200, b"", {"ETag": f'"{upload_id}-{number}"'})

    def _upload_action(self, request: EmulatorRequest) -> EmulatorResponse:
        early = self._gate(request)
        if isinstance(early, EmulatorResponse):
            return early
        assert request.match is not None
        body = request.json if _is_json_object(request) else {}
        if body.get("action") != "complete":
            return _error(400, "invalid_parameter", "action must be complete")
        with self._state_lock:
            upload = self.uploads.get(request.match["upload"])
            received = dict(self._parts.get(request.match["upload"], {}))
        if upload is None:
            return _error(404, "not_found", "Upload not found")
        count = upload["partsCount"]
        if sorted(received) != list(range(1, count + 1)):
            return _error(400, "missing_parts", "Every part must be uploaded before completing")
        if any(len(received[number]) < S3_MIN_PART_BYTES for number in range(1, count)):
            return _error(400, "part_too_small", "Every part but the last must be at least 5MB")
        content = b"".join(received[number] for number in range(1, count + 1))
        decoded = _decode_image(base64.b64encode(content).decode("ascii"))
        with self._state_lock:
            if len(content) != upload["fileSize"] or decoded is None:
                upload.update(status="failed", errorMessage="the file is not the image announced")
            else:
                _, fmt, (width, height) = decoded
                upload.update(status="validating", _pending=(content, fmt, width, height))
            answer = _public(upload)
        return EmulatorResponse.json(200, {"upload": answer})

    def _upload_get(self, request: EmulatorRequest) -> EmulatorResponse:
        early = self._gate(request)
        if isinstance(early, EmulatorResponse):
            return early
        assert request.match is not None
        with self._state_lock:
            upload = self.uploads.get(request.match["upload"])
            pending = upload.pop("_pending", None) if upload is not None else None
        if upload is None:
            return _error(404, "not_found", "Upload not found")
        if pending is not None:
            asset = self._new_asset(*pending)
            with self._state_lock:
                upload.update(status="imported", entityId=asset["id"])
        with self._state_lock:
            return EmulatorResponse.json(200, {"upload": _public(upload)})

    def _asset(self, request: EmulatorRequest) -> EmulatorResponse:
        early = self._gate(request)
        if isinstance(early, EmulatorResponse):
            return early
        assert request.match is not None
        with self._state_lock:
            asset = self.assets.get(request.match["asset"])
        if asset is None:
            return _error(404, "not_found", f"Asset {request.match['asset']} not found")
        return EmulatorResponse.json(200, {"asset": asset})

    def _models(self, request: EmulatorRequest) -> EmulatorResponse:
        early = self._gate(request)
        if isinstance(early, EmulatorResponse):
            return early
        size = request.query.get("pageSize", "10")
        listed = [{"id": model_id, "type": "custom"} for model_id in MODELS]
        count = int(size) if size.isdigit() else 10
        return EmulatorResponse.json(200, {"models": listed[:count], "nextPaginationToken": None})

    # --- behaviour -----------------------------------------------------------------------
    def _gate(self, request: EmulatorRequest, prompt: str = "") -> EmulatorResponse | Fault | None:
        """Credentials, then the fault this request meets: an answer that replaces the exchange,
        a job fault to carry on, or None."""
        scheme, _, token = request.header("authorization").partition(" ")
        try:
            credentials = base64.b64decode(token, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            credentials = ""
        if scheme.lower() != "basic" or credentials != self.api_key:
            return _error(401, "unauthorized", "Invalid API key or secret")
        fault = self.fault_for(request, prompt)
        return fault_reply(fault, _error) or fault

    def _problem(self, model: ScenarioModel, body: dict[str, Any]) -> str:
        """The 400 message for the first rule `body` breaks, or ""."""
        unknown = sorted(set(body) - model.params)
        if unknown:
            return f"Unknown parameter: {unknown[0]}"
        if not isinstance(body.get("prompt"), str) or not body["prompt"].strip():
            return "prompt is required"
        for name, allowed in (
            ("size", model.sizes),
            ("resolution", model.resolutions),
            ("aspectRatio", model.ratios),
            ("sequentialImageGeneration", ("disabled", "auto")),
        ):
            if name in body and body[name] not in allowed:
                return f"{name} must be one of {', '.join(allowed)}"
        for name in ("width", "height"):
            sides = (name == "height" and model.height_sides) or model.sides
            if name in body and sides and not _whole_in(body[name], *sides):
                return f"{name} must be between {sides[0]} and {sides[1]}"
        sides_given = bool({"width", "height"} & set(body))
        # ASSUMPTION: Dreamina refuses sides without `custom` (strict, to catch mistakes).
        if model.resolutions and sides_given and body.get("aspectRatio") != "custom":
            return "width and height are only used when aspectRatio is custom"
        if "seed" in body and not _whole_in(body["seed"], 0, 2**32 - 1):
            return "seed must be a non-negative integer"
        references = body.get("referenceImages", [])
        with self._state_lock:
            known = isinstance(references, list) and all(
                isinstance(ref, str) and ref in self.assets for ref in references
            )
        if not known:
            return "referenceImages must be ids of existing assets"
        if "referenceImages" in body and not 1 <= len(references) <= model.max_references:
            return f"referenceImages takes 1 to {model.max_references} images"
        if "maxImages" in body and not _whole_in(body["maxImages"], 1, 15):
            return "maxImages must be between 1 and 15"
        if len(references) + int(body.get("maxImages", 1)) > 15:
            return "Total image count (input + generated) cannot exceed 15"
        return ""

    # --- the job's outcome ---------------------------------------------------------------
    def next_seed(self) -> int:
        # Ids and images share one counter: a result's asset is numbered by its image.
        with self._state_lock:
            self._counter += 1
            return self._counter

    def output_for(self, job: Job, url: str, seed: int) -> str:
        """A result is an asset: its id goes in the job's `assetIds`."""
        asset_id = f"asset_out{seed:04d}"
        with self._state_lock:
            self.assets[asset_id] = _asset(
                asset_id, url, job.fmt, job.width, job.height, "inference"
            )
        return asset_id

    def _job_record(self, job: Job) -> dict[str, Any]:
        status = {QUEUED: "queued", RUNNING: "in-progress", SUCCEEDED: "success"}.get(
            job.phase, "failure" if job.phase == FAILED else "canceled"
        )
        record: dict[str, Any] = {
            "jobId": job.id,
            "status": status,
            "progress": self.progress(job),
            "jobType": "inference",
            "metadata": {"assetIds": list(job.outputs), "modelId": job.model},
        }
        if job.phase == FAILED:
            reason = REFUSAL_ERROR if job.fault == "refuse" else RUN_FAILURE_ERROR
            if self.failure_field == "job":
                record["error"] = reason
            else:
                record["metadata"]["error"] = reason
            if self.failure_field == "both":
                record["error"] = "Job failed"
        return record

    def _next_id(self, prefix: str) -> str:
        """The next id with `prefix` (the caller holds the state lock)."""
        self._counter += 1
        return f"{prefix}_{self._counter:04d}"

    def _store_bytes(self, content: bytes, fmt: str) -> str:
        """Serve uploaded bytes like a rendered image (the base only stores what it renders)."""
        file_id = secrets.token_hex(8)
        with self._lock:
            self.files[file_id] = (content, fmt)
        return f"{self.base_url}/files/{file_id}.{fmt}"


def _output_size(model: str, params: dict[str, Any]) -> tuple[int, int]:
    """ASSUMPTION: a tier's output follows our catalog's tables (Scenario prints none)."""
    if "width" in params and "height" in params:
        return int(params["width"]), int(params["height"])
    ratio = params.get("aspectRatio", "")
    if model.endswith("dreamina-3-1"):
        row = DREAMINA_TIER_SIZES[params.get("resolution", "2K")]
        return row.get(ratio or "4:3", row["4:3"])  # Dreamina's default ratio is 4:3
    if model.endswith("seedream-3"):
        return 2048, 2048
    # 4.x Edit default to 4K; 5.0 lite's default is 2048 a side. `auto` and
    # `match_input_image` follow the references, for which a square stands in.
    row = ARK_TIER_SIZES[params.get("size", "2K" if model.endswith("5-0-lite") else "4K")]
    return row.get(ratio, row["1:1"])


def _asset(asset_id: str, url: str, fmt: str, width: int, height: int, kind: str) -> dict[str, Any]:
    return {
        "id": asset_id,
        "url": url,
        "mimeType": f"image/{fmt}",
        "kind": "image",
        "status": "success",
        "metadata": {"type": kind, "width": width, "height": height},
    }


def _decode_image(value: str) -> tuple[bytes, str, tuple[int, int]] | None:
    """Bytes, format and size of a base64 image, bare or as a data URI (both accepted)."""
    if value.startswith("data:"):
        header, _, value = value.partition(",")
        if not header.endswith(";base64"):
            return None
    try:
        content = base64.b64decode(value, validate=True)
        with Image.open(io.BytesIO(content)) as image:
            fmt = "png" if image.format == "PNG" else "jpeg"
            return content, fmt, image.size
    except (binascii.Error, ValueError, OSError):
        return None


def _is_json_object(request: EmulatorRequest) -> bool:
    try:
        return isinstance(request.json, dict)
    except ValueError:
        return False


def _whole_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _public(upload: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in upload.items() if not name.startswith("_")}


def _error(
    status: int, reason: str, message: str, *, headers: dict[str, str] | None = None
) -> EmulatorResponse:
    return EmulatorResponse.json(status, {"message": message, "reason": reason}, headers)
