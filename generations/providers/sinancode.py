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
- `images` are documented as URLs. ASSUMPTION: our references are stored bytes, so they go as
  `data:image/...;base64,` URIs (Ark, upstream, takes those); a URL reference goes as is.
- Status: `completed` and `failed` are terminal (third-party client), `processing` documented;
  anything else counts as still queued (§9.7). ASSUMPTION: `canceled`/`cancelled` are terminal
  too, so a job someone stopped does not poll until the deadline.
- No cancel endpoint is documented, so `cancel` is a no-op; the caller's deadline still ends
  the attempt. `check` reads an all-zero task id: ASSUMPTION, 404 (or 200) for a good token and
  401/403 for a bad one; it costs nothing, unlike a generation.

The helpers at the bottom serve scenario.py as well (both are task providers); they belong in
jobs.py, owned elsewhere, and should move there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from generations.providers.contract import (
    AccountConfig,
    ProviderImage,
    ProviderImageFailure,
    ProviderOutcome,
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
    QuotaError,
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
    wants_watermark,
)

__all__ = [
    "SINANCODE_VERSIONS",
    "TRANSIENT_POLL_ERRORS",
    "SinanCodeAdapter",
    "failed_job_error",
    "fetch_output_image",
    "http_error",
    "poll_record",
    "refuse_unsupported",
    "sinancode_size",
]

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
# Polls only read: throttling, 5xx, dropped connections and unreadable replies there are waited
# out by polling again (bounded by the caller's deadline) instead of losing a paid job.
TRANSIENT_POLL_ERRORS = (RateLimited, Unavailable, ProviderTimeout, BadResponse)
FLAKY_DOWNLOAD_WAIT_S = 0.5

_REFUSAL_MARKS = ("sensitive", "moderation", "nsfw", "content policy", "content_policy", "safety")
_BALANCE_MARKS = ("credit", "balance", "quota", "insufficient", "plan", "subscription")

# A well-formed id no task will have, for the credential check.
_PROBE_TASK_ID = "00000000-0000-0000-0000-000000000000"


@register_adapter
class SinanCodeAdapter(JobAdapter):
    kind = "sinancode"
    default_base_url: ClassVar[str] = "https://api.sinancode.com/v1"

    @property
    def base_url(self) -> str:
        return (self.account.base_url or self.default_base_url).rstrip("/")

    # --- job contract --------------------------------------------------------------------
    def submit(self, request: ProviderRequest) -> ProviderJob:
        body = self.request_body(request)
        with self._client() as client:
            reply = self._call(client, "POST", GENERATE_PATH, body)
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
        with accepted_call(), self._client() as client:
            record = poll_record(lambda: self._call(client, "GET", _task_path(job.job_id)))
            if isinstance(record, JobStatus):
                return record
            status = str(record.get("status") or "")
            if status == "failed":
                raise failed_job_error("SinanCode", record, job_id=job.job_id, secrets=self.secrets)
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
        with self._client() as client, map_transport_errors(secrets=self.secrets):
            response = client.get(f"{self.base_url}{_task_path(_PROBE_TASK_ID)}")
        if response.status_code in (200, 404):
            return "SinanCode accepted the token"
        raise http_error(response, secrets=self.secrets)

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
            body["images"] = [reference_wire_value(ref) for ref in request.references]
        return body

    # --- calls ---------------------------------------------------------------------------
    def _client(self) -> httpx.Client:
        if not self.account.api_key:
            raise AuthError(message="the SinanCode account has no API token")
        return self.http_client(
            headers={
                "Authorization": f"Bearer {self.account.api_key}",
                "Accept": "application/json",
            }
        )

    def _call(
        self, client: httpx.Client, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any]:
        with map_transport_errors(secrets=self.secrets):
            response = client.request(method, f"{self.base_url}{path}", json=body)
        if response.status_code not in (200, 201):
            raise http_error(response, secrets=self.secrets)
        return reply_json_object(response, secrets=self.secrets)

    # --- replies -------------------------------------------------------------------------
    def _finished(self, record: Mapping[str, Any], job: ProviderJob) -> JobStatus:
        results = record.get("result")
        if not isinstance(results, list) or not results:
            raise BadResponse(message=f"SinanCode task {job.job_id} completed without results")
        outcomes: list[ProviderOutcome] = []
        for index, entry in enumerate(results):
            url = _result_url(entry)
            if url:
                outcomes.append(fetch_output_image(self, url, index=index))
            else:
                outcomes.append(
                    ProviderImageFailure(index, BadResponse.code, "a result entry has no url")
                )
        delivered = sum(isinstance(outcome, ProviderImage) for outcome in outcomes)
        raw = {
            "provider": self.kind,
            "version": job.state.get("version"),
            "task_id": job.job_id,
            "results": len(results),
        }
        outcomes.append(ProviderUsage(generated_images=delivered, raw=raw))
        return JobStatus(
            done=True, outcomes=tuple(outcomes), provider_status="completed", progress=1.0
        )


def sinancode_size(request: ProviderRequest, version: str) -> str:
    """A tier keyword at 1:1 where the version lists it; otherwise the concrete WIDTHxHEIGHT."""
    tier = request.size.strip().upper()
    if tier in _TIERS.get(version, _TIERS["4.0"]) and request.aspect_ratio in ("", "1:1"):
        return tier
    return f"{request.width}x{request.height}"


def _task_path(task_id: str) -> str:
    return f"/tasks/{quote(task_id, safe='')}"


def _result_url(entry: object) -> str:
    """One `result` item: a URL string or `{"type", "url"}` (both documented, §5)."""
    if isinstance(entry, Mapping):
        entry = entry.get("url")
    return entry if isinstance(entry, str) and entry.startswith(("https://", "http://")) else ""


# --- helpers shared with scenario.py -------------------------------------------------------


def refuse_unsupported(
    provider: str, request: ProviderRequest, account: AccountConfig, *, takes_seed: bool
) -> None:
    """`BadRequest` for what neither task provider can do, instead of dropping it silently."""
    if request.seed is not None and not takes_seed:
        raise BadRequest(message=f"{provider}'s {request.model} takes no seed")
    if request.guidance_scale is not None:
        raise BadRequest(message=f"{provider} takes no guidance scale")
    if request.output_format != "jpeg":
        raise BadRequest(message=f"{provider} has no output format choice; PNG is unavailable")
    if wants_watermark(account, request):
        raise BadRequest(message=f"{provider} cannot add the provider's watermark")


def poll_record(
    fetch: Callable[[], Mapping[str, Any]], *, key: str = ""
) -> Mapping[str, Any] | JobStatus:
    """The job record a status read returns (under `key` when the provider wraps it), or a
    not-done `JobStatus` when the read failed in a way worth retrying at the next poll."""
    try:
        reply = fetch()
    except TRANSIENT_POLL_ERRORS as error:
        return JobStatus(done=False, provider_status=f"status unreadable ({error.code}); retrying")
    record = reply.get(key) if key else reply
    if not isinstance(record, Mapping):
        return JobStatus(done=False, provider_status="status reply without a job; retrying")
    return record


def fetch_output_image(
    adapter: JobAdapter, url: str, *, index: int
) -> ProviderImage | ProviderImageFailure:
    """Download one finished image now (links expire); a 404 is retried once after a short
    wait (fresh results are sometimes not yet on the CDN), any second failure is per-image."""
    try:
        try:
            content = adapter.download_image(url)
        except BadResponse as error:
            if error.http_status != 404:
                raise
            adapter.sleep(FLAKY_DOWNLOAD_WAIT_S)
            content = adapter.download_image(url)
        width, height, mime = image_facts(content)
    except ProviderError as error:
        return ProviderImageFailure(index, error.code, redact(error.message, adapter.secrets))
    return ProviderImage(
        index=index, content=content, url=url, width=width, height=height, mime=mime
    )


def failed_job_error(
    provider: str, error: object, *, job_id: str, secrets: tuple[str, ...] = ()
) -> ProviderError:
    """The error for a job the provider reports failed: a refusal, or a not-failover-safe
    `Unavailable` (it was accepted, so it may have been billed)."""
    code, text = _error_fields(error)
    message = redact(f"{provider} job {job_id} failed: {text}", secrets)
    fields: dict[str, Any] = {"message": message, "provider_code": code or None}
    if _marked(f"{code} {text}", _REFUSAL_MARKS):
        return ContentRefused(**fields)
    return Unavailable(**fields, before_accepted=False)


def http_error(response: httpx.Response, *, secrets: tuple[str, ...]) -> ProviderError:
    """A non-2xx answer as a `ProviderError`: refusals and empty accounts first, then status."""
    try:
        payload: object = response.json()
    except ValueError:  # a gateway's HTML page, say
        payload = None
    code, text = _error_fields(payload)
    if payload is None or text == "no details":
        text = f"HTTP {response.status_code}: {response.text[:200] or 'no body'}"
    status = response.status_code
    fields: dict[str, Any] = {
        "message": redact(text, secrets),
        "http_status": status,
        "provider_code": code or None,
    }
    if status in (400, 422) and _marked(f"{code} {text}", _REFUSAL_MARKS):
        return ContentRefused(**fields)
    if status == 403 and _marked(f"{code} {text}", _BALANCE_MARKS):
        return QuotaError(**fields)
    return error_from_response(response, message=text, provider_code=code or None, secrets=secrets)


def _error_fields(error: object) -> tuple[str, str]:
    """(code, message) from the envelopes seen: `{message, reason}` (Scenario),
    `{error: {message, code}}`, `{error_code, error_msg}` (SinanCode) or a bare string."""
    if isinstance(error, str):
        return "", error or "no details"
    if not isinstance(error, Mapping):
        return "", "no details"
    inner = error.get("error")
    if isinstance(inner, Mapping):
        return _error_fields({**error, **inner, "error": None})
    code = error.get("code") or error.get("reason") or error.get("error_code") or ""
    message = error.get("message") or error.get("error_msg") or inner or error.get("detail")
    return str(code), str(message or code or "no details")


def _marked(text: str, marks: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(mark in lowered for mark in marks)
