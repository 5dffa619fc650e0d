"""SinanCode (kind "sinancode"): Seedream 4.0, 4.5 and 5.0 lite as tasks on SinanCode's API.

Wire facts: providers.md §5 and §9 and SinanCode's Seedream page (shared seed 003).
`POST {base}/generate/vol/seedream` `{prompt, images?, max_images, size, version}` answers
`{"task_id"}`; `GET {base}/tasks/{id}` answers `{"id", "status", "error_code", "error_msg",
"result"}`, where `result` holds URL strings or `{"type", "url"}` objects. Bearer token auth.
`base_url` includes `/v1` (default https://api.sinancode.com/v1).

Decisions:
- `version` per catalog id (`SINANCODE_VERSIONS`, overridable with `options["model_ids"]`);
  3.0-t2i, SeedEdit and Dreamina are not served there (BadRequest before any call).
- `max_images` is always sent: the page says both "default 1" and "unset = batch up to 15".
- `size`: a tier the version lists goes out as the keyword only at 1:1, because a tier lets the
  model take the shape from the prompt; any other shape (and 4.0's 1K, not a SinanCode tier)
  goes out as the request's concrete WIDTHxHEIGHT, which the page accepts for every version.
- `images` are documented as URLs only (seed 003: "Input images ... Example: [\"https://...\"]"),
  so stored references go as our signed link to them; a URL reference goes as is.
- Status: `completed` and `failed` are terminal (third-party client), `processing` documented;
  anything else counts as still queued (§9.7). ASSUMPTION: `canceled`/`cancelled` are terminal
  too, so a job someone stopped does not poll until the deadline.
- No cancel endpoint is documented, so `cancel` is a no-op; the caller's deadline still ends
  the attempt. `check` reads an all-zero task id: ASSUMPTION, 404 (or 200) for a good token and
  401/403 for a bad one; it costs nothing, unlike a generation.

Downloads (a 404 retried once; any failure after that, transport included, fails that image
only), poll retries, failed-job and HTTP error mapping and the refusals it shares with Scenario
come from job_wire.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from generations.providers.contract import (
    ProviderImageFailure,
    ProviderOutcome,
)
from generations.providers.errors import (
    BadRequest,
    BadResponse,
    Unavailable,
    unserved_request,
)
from generations.providers.inputs import ProviderRequest
from generations.providers.job_wire import (
    TASK_BALANCE_MARKS,
    TASK_REFUSAL_MARKS,
    missing_images,
    poll_record,
    refuse_unsupported,
)
from generations.providers.jobs import JobAdapter, JobStatus, ProviderJob
from generations.providers.registry import register_adapter
from generations.providers.wire import (
    ReferenceRoute,
    accepted_call,
    deliver_reference,
    fetch_image,
    provider_model_id,
)

__all__ = ["SINANCODE_VERSIONS", "SinanCodeAdapter", "sinancode_size"]

# `images`: reference image URLs (seed 003); no data URIs are documented.
REFERENCE_ROUTE = ReferenceRoute(provider="SinanCode")
SINANCODE_VERSIONS: Mapping[str, str] = {
    "seedream-5.0-lite": "5.0-lite",
    "seedream-4.5": "4.5",
    "seedream-4.0": "4.0",
}
# Tier keywords per version (seed 003); an overridden version falls back to 4.x's.
_TIERS: Mapping[str, tuple[str, ...]] = {
    "5.0-lite": ("2K", "3K"),
    "4.5": ("2K", "4K"),
    "4.0": ("2K", "4K"),
}
GENERATE_PATH = "/generate/vol/seedream"
MAX_PROMPT_CHARS = 2_000
MAX_REFERENCES = 14
MAX_TOTAL_IMAGES = 15  # input + generated
_CANCELED = ("canceled", "cancelled")

# A well-formed id no task will have, for the credential check.
_PROBE_TASK_ID = "00000000-0000-0000-0000-000000000000"


@register_adapter
class SinanCodeAdapter(JobAdapter):
    kind = "sinancode"
    default_base_url: ClassVar[str] = "https://api.sinancode.com/v1"
    refusal_marks = TASK_REFUSAL_MARKS
    balance_marks = TASK_BALANCE_MARKS
    fetches_reference_links = REFERENCE_ROUTE.links_only

    # --- job contract --------------------------------------------------------------------
    def submit(self, request: ProviderRequest) -> ProviderJob:
        body = self.request_body(request)
        reply = self.call_json("POST", f"{self.base_url}{GENERATE_PATH}", body)
        with accepted_call():
            task_id = reply.get("task_id")
            if not isinstance(task_id, str) or not task_id:
                raise BadResponse(message="SinanCode accepted the task but sent no task_id")
        return ProviderJob(
            job_id=task_id,
            state={
                "model": request.model,
                "version": body["version"],
                "max_images": request.max_images,
            },
        )

    def poll(self, job: ProviderJob) -> JobStatus:
        url = f"{self.base_url}{_task_path(job.job_id)}"
        with accepted_call():
            record = poll_record(lambda: self.call_json("GET", url))
            if isinstance(record, JobStatus):
                return record
            status = str(record.get("status") or "")
            if status == "failed":
                raise self.failed_job_error("SinanCode", record, job_id=job.job_id)
            if status in _CANCELED:
                raise Unavailable(
                    message=f"SinanCode task {job.job_id} was canceled", before_accepted=False
                )
            if status != "completed":  # processing, or anything undocumented: still running
                return JobStatus(done=False, provider_status=status or "unknown")
            return self._finished(record, job)

    def cancel(self, job: ProviderJob) -> None:
        """A no-op: SinanCode documents no way to stop a task (providers.md §5)."""

    def check(self) -> str:
        response = self.exchange("GET", f"{self.base_url}{_task_path(_PROBE_TASK_ID)}")
        if response.status_code in (200, 404):
            return "SinanCode accepted the token"
        raise self.error_from_reply(response)

    # --- request -------------------------------------------------------------------------
    def request_body(self, request: ProviderRequest) -> dict[str, Any]:
        """The JSON body for `request`; `BadRequest` for anything SinanCode cannot do."""
        version = provider_model_id(self.account, request.model, SINANCODE_VERSIONS, "SinanCode")
        refuse_unsupported("SinanCode", request, self.account, takes_seed=False)
        if len(request.prompt) > MAX_PROMPT_CHARS:
            raise BadRequest(
                message=f"SinanCode takes prompts of at most {MAX_PROMPT_CHARS:,} characters; "
                f"got {len(request.prompt):,}"
            )
        references = len(request.references)
        if references > MAX_REFERENCES:
            raise BadRequest(
                message=f"SinanCode takes at most {MAX_REFERENCES} reference images; "
                f"got {references}"
            )
        if references + request.max_images > MAX_TOTAL_IMAGES:
            raise BadRequest(
                message=f"reference images plus images asked for must not exceed "
                f"{MAX_TOTAL_IMAGES}; got {references} + {request.max_images}"
            )
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "version": version,
            "max_images": request.max_images,
            "size": sinancode_size(request, version),
        }
        if request.references:
            body["images"] = [deliver_reference(ref, REFERENCE_ROUTE) for ref in request.references]
        return body

    # --- replies -------------------------------------------------------------------------
    def _finished(self, record: Mapping[str, Any], job: ProviderJob) -> JobStatus:
        results = record.get("result")
        if not isinstance(results, list) or not results:
            raise BadResponse(message=f"SinanCode task {job.job_id} completed without results")
        outcomes: list[ProviderOutcome] = []
        for index, entry in enumerate(results):
            url = _result_url(entry)
            if url:
                outcomes.append(fetch_image(self, url, index=index))
            else:
                outcomes.append(
                    ProviderImageFailure(index, BadResponse.code, "a result entry has no url")
                )
        outcomes += missing_images(
            returned=len(results),
            expected=int(job.state.get("max_images") or 1),
            provider="SinanCode",
        )
        outcomes.append(
            self.usage(
                outcomes,
                version=job.state.get("version"),
                task_id=job.job_id,
                results=len(results),
            )
        )
        return JobStatus(
            done=True, outcomes=tuple(outcomes), provider_status="completed", progress=1.0
        )


def sinancode_size(request: ProviderRequest, version: str) -> str:
    """A tier keyword at 1:1 where the version lists it; otherwise the concrete WIDTHxHEIGHT.

    A tier above the version's largest (4K on 5.0 lite) is refused before the call, may fail
    over: its pixels pass what the version takes (§5: 5.0 lite is 2K/3K).
    """
    tier = request.size.strip().upper()
    tiers = _TIERS.get(version, _TIERS["4.0"])
    if tier in tiers and request.aspect_ratio in ("", "1:1"):
        return tier
    if tier.endswith("K") and tier[:-1].isdigit() and tier > max(tiers):
        raise unserved_request(
            f"SinanCode serves Seedream {version} at {', '.join(tiers)}, not {tier}"
        )
    return f"{request.width}x{request.height}"


def _task_path(task_id: str) -> str:
    return f"/tasks/{quote(task_id, safe='')}"


def _result_url(entry: object) -> str:
    """One `result` item: a URL string or `{"type", "url"}` (both documented, §5)."""
    if isinstance(entry, Mapping):
        entry = entry.get("url")
    return entry if isinstance(entry, str) and entry.startswith(("https://", "http://")) else ""
