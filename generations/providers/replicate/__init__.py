"""Replicate (kind "replicate"): Seedream 4.0, 4.5 and 5.0 lite run as predictions.

Wire facts come from providers.md §2 and the bytedance/seedream-4 model page (shared seed 001):
`POST {base}/models/{owner}/{name}/predictions` with `{"input": {...}}` creates a prediction
(`starting` -> `processing` -> `succeeded` | `failed` | `canceled` | `aborted`); `GET urls.get`
reads it; `POST urls.cancel` stops it; `Authorization: Bearer <token>`. A finished prediction's
`output` is a list of image URLs, which are downloaded at once (their lifetime is unknown).
`base_url` includes the API version (default https://api.replicate.com/v1).

Short jobs, `Prefer: wait=N` (§2.1, R-DOC-CREATE, R-SYNC): the create asks Replicate to hold
its answer up to N seconds; a prediction that finished in time comes back finished, with its
`output`, and the job is marked `finished` so its first poll only downloads (no GET). One that
did not comes back `starting`/`processing` and is polled through `urls.get` as usual. The worker
thread waits through the hold, and Seedream jobs mostly take longer than a few seconds, so a
hold is asked for only when the account's recent jobs typically finished within the account
option `prefer_wait_s` (default 5; 0 never holds): N is then 1.5x that typical time. Without
recent jobs, or with slower ones, there is no hold (a held thread per job in flight would cap
a worker's submissions at its threads / N per second). ASSUMPTION: Replicate's largest accepted
N is not documented (60 is its default and example), so values are clamped to 0-60 here: no
hook validates account options when they are saved. N is also kept 2 s under the account's read
timeout, since a reply held past it would be lost after Replicate created (and billed) the run.

Request decisions (the `input` itself, and versions pinned per account, are
replicate/input.py's):
- Models: seedream-4.0 -> bytedance/seedream-4, 4.5 -> bytedance/seedream-4.5, 5.0 lite ->
  bytedance/seedream-5-lite; `account.options["model_ids"]` overrides. Other catalog ids are
  refused before any call.
- Pinned versions (`account.options["versions"]`, catalog id -> version id) are created with
  `POST {base}/predictions` and `{"version": "<version id>", "input": {...}}` (§2.1 "Create
  (unified)"; R-PY `types/prediction_create_params.py`: "the ID of the model version that you
  want to run"); unpinned models through their model path, as above.

References (R-FILES, R-PY-OLD): Replicate takes a file input as a URL or a data URI, the latter
"only recommended if the file is less than 1MB"; its clients upload anything else with
`POST {base}/files` (multipart, the bytes in the part `content`) and put the file's `urls.get`
in the input. So stored references under 1,000,000 bytes go inline and larger ones are
uploaded first (before the paid create, so an upload failure may still fail over); a URL
reference goes as it is.

Errors: ASSUMPTION: besides the documented 429 `{"detail": ...}`, errors are problem details
`{"title", "detail", "status"}` (§2.2 found no other shape); statuses map the usual way. A
failed prediction whose `error` reads like a content filter (Replicate's E005 "flagged as
sensitive", ASSUMPTION) is `ContentRefused`; any other failure after the job was accepted is
`Unavailable(before_accepted=False)`: Replicate may have billed the run.

Downloads, poll failures and the canceled-job error come from job_wire.py, shared with the
other job providers.

R-FILES = replicate.com/docs/topics/predictions/input-files ("Option 3: Data URI ... only
recommended if the file is less than 1MB"); R-PY-OLD = replicate/replicate-python
`replicate/file.py` (`files.create`: multipart `POST /v1/files`) and `replicate/helpers.py`
(`encode_json`: the created file's `urls["get"]` goes in the input).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from generations.providers.errors import (
    BadResponse,
    ContentRefused,
    ProviderError,
    Unavailable,
)
from generations.providers.http import redact
from generations.providers.inputs import AccountConfig, ProviderRequest, ReferenceInput
from generations.providers.job_wire import (
    collect_outputs,
    job_canceled,
    job_id_of,
    poll_failure,
    same_origin_url,
    seconds_between,
)
from generations.providers.jobs import JobAdapter, JobStatus, ProviderJob
from generations.providers.registry import register_adapter
from generations.providers.replicate.input import (
    account_option_error,
    pinned_version,
    prediction_input,
)
from generations.providers.replies import marked, reply_error, reply_error_fields
from generations.providers.wire import (
    ReferenceRoute,
    deliver_reference,
    provider_model_id,
    reply_json_object,
)

__all__ = [
    "REPLICATE_MODELS",
    "ReplicateAdapter",
    "enhance_prompt_option",
    "prediction_error",
    "prefer_wait_longest_s",
    "prefer_wait_seconds",
]

DEFAULT_BASE_URL = "https://api.replicate.com/v1"
# Data URIs are "only recommended if the file is less than 1MB" (R-FILES); larger files upload.
INLINE_REFERENCE_BELOW_BYTES = 1_000_000
REPLICATE_MODELS: Mapping[str, str] = {
    "seedream-4.0": "bytedance/seedream-4",
    "seedream-4.5": "bytedance/seedream-4.5",
    "seedream-5.0-lite": "bytedance/seedream-5-lite",
}
RUNNING_STATUSES = ("starting", "processing")
ENDED_STATUSES = ("succeeded", "failed", "canceled", "aborted")
DEFAULT_PREFER_WAIT_S = 5
PREFER_WAIT_MAX_S = 60
# A short job is held this much longer than the account's typical job time.
PREFER_WAIT_HEADROOM = 1.5
PREFER_WAIT_MARGIN_S = 2  # the held answer must arrive before our read timeout fires
# Replicate's word for a run stopped by a content filter (ASSUMPTION: E005, "flagged as
# sensitive", NSFW); matched case-insensitively in the prediction's `error`.
_REFUSAL_MARKS = ("e005", "sensitive", "nsfw", "content policy", "safety checker", "flagged")


def enhance_prompt_option(account: AccountConfig) -> bool:
    """The account option `enhance_prompt` (default off): whether Replicate rewrites the prompt.

    Replicate's own default is on (seed 001), which sends a longer, different prompt to the
    model and takes longer; a user's prompt goes out as written unless staff turn it on.
    """
    value = account.options.get("enhance_prompt", False)
    if not isinstance(value, bool):
        raise account_option_error(
            f"the account option enhance_prompt must be true or false, got {value!r}"
        )
    return value


def prefer_wait_seconds(account: AccountConfig, *, typical_job_s: float | None) -> int:
    """N for `Prefer: wait=N` (0: send none); see the module docstring.

    Only for short jobs: when the account's recent jobs typically finished within the longest
    hold, the hold is a little longer than that typical time; otherwise (or without recent
    jobs) none, and the job is polled from the start.
    """
    longest = prefer_wait_longest_s(account)
    if typical_job_s is None or typical_job_s > longest:
        return 0
    return min(longest, math.ceil(typical_job_s * PREFER_WAIT_HEADROOM))


def prefer_wait_longest_s(account: AccountConfig) -> int:
    """The account option `prefer_wait_s`, clamped to 0-60 and below the read timeout."""
    value = account.options.get("prefer_wait_s", DEFAULT_PREFER_WAIT_S)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise account_option_error(
            f"the account option prefer_wait_s must be seconds from 0 to {PREFER_WAIT_MAX_S}, "
            f"got {value!r}"
        )
    seconds = min(max(int(value), 0), PREFER_WAIT_MAX_S)
    below_timeout = math.floor(account.read_timeout_s) - PREFER_WAIT_MARGIN_S
    return max(0, min(seconds, below_timeout))


@register_adapter
class ReplicateAdapter(JobAdapter):
    kind = "replicate"
    default_base_url: ClassVar[str] = DEFAULT_BASE_URL
    refusal_marks = _REFUSAL_MARKS

    def check(self) -> str:
        """`GET /account`: free, names the account the token belongs to, 401 for a bad token."""
        username = self.call_json("GET", "/account", ok=(200,)).get("username")
        return f"Replicate accepted the token (account {username or 'unnamed'})."

    # --- the job -------------------------------------------------------------------------
    def submit(self, request: ProviderRequest) -> ProviderJob:
        model_path = provider_model_id(self.account, request.model, REPLICATE_MODELS, "Replicate")
        version = pinned_version(self.account, request.model)
        enhance_prompt = enhance_prompt_option(self.account)
        payload = prediction_input(
            request,
            version=version,
            enhance_prompt=enhance_prompt,
            reference_value=lambda reference: deliver_reference(reference, self._reference_route()),
        )
        wait_s = prefer_wait_seconds(self.account, typical_job_s=request.typical_job_s)
        if version:
            url, body = f"{self.base_url}/predictions", {"version": version, "input": payload}
        else:
            url, body = f"{self.base_url}/models/{model_path}/predictions", {"input": payload}
        headers = {"Prefer": f"wait={wait_s}"} if wait_s else {}
        prediction = self.call_json("POST", url, body, headers=headers)
        prediction_id = job_id_of(
            prediction.get("id"), missing="Replicate's new prediction has no id"
        )
        urls = prediction.get("urls")
        urls = urls if isinstance(urls, Mapping) else {}
        own = f"{self.base_url}/predictions/{prediction_id}"
        state: dict[str, Any] = {
            "model": model_path,
            "version": version,
            "expected_images": request.max_images,
            "enhance_prompt": enhance_prompt,
            "get_url": same_origin_url(urls.get("get"), base_url=self.base_url, fallback=own),
            "cancel_url": same_origin_url(
                urls.get("cancel"), base_url=self.base_url, fallback=f"{own}/cancel"
            ),
        }
        finished = prediction.get("status") in ENDED_STATUSES
        if finished:
            # Kept for the first poll, which then needs no GET (all JSON: it came as JSON).
            state["ended"] = {
                name: prediction.get(name)
                for name in ("status", "output", "error", "metrics", "created_at", "completed_at")
            }
        return ProviderJob(job_id=prediction_id, state=state, finished=finished)

    def poll(self, job: ProviderJob) -> JobStatus:
        ended = job.state.get("ended")
        if isinstance(ended, Mapping):
            return self._status_of(job, ended)  # the create's held answer showed it finished
        try:
            prediction = self.call_json("GET", str(job.state["get_url"]), ok=(200,))
        except ProviderError as error:
            return poll_failure(error)
        return self._status_of(job, prediction)

    def cancel(self, job: ProviderJob) -> None:
        response = self.exchange("POST", str(job.state["cancel_url"]))
        # 404: Replicate no longer knows the prediction, which is what cancel wants anyway.
        if response.status_code not in (200, 201, 202, 204, 404):
            raise self.error_from_reply(response)

    def _status_of(self, job: ProviderJob, prediction: Mapping[str, Any]) -> JobStatus:
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
        facts: dict[str, Any] = {
            "model": job.state.get("model", ""),
            "prediction_id": job.job_id,
            "metrics": dict(metrics) if isinstance(metrics, Mapping) else {},
        }
        if job.state.get("version"):
            facts["version"] = job.state["version"]
        if "enhance_prompt" in job.state:
            facts["enhance_prompt"] = bool(job.state["enhance_prompt"])
        # What Replicate made and bills, fetched or not.
        usage = self.usage(images, billed=len(urls), **facts)
        return JobStatus(
            done=True,
            outcomes=(*images, usage),
            provider_status="succeeded",
            ran_s=seconds_between(prediction.get("created_at"), prediction.get("completed_at")),
        )

    # --- references ----------------------------------------------------------------------
    def _reference_route(self) -> ReferenceRoute:
        return ReferenceRoute(
            provider="Replicate",
            inline_below_bytes=INLINE_REFERENCE_BELOW_BYTES,
            upload=self._upload_file,
        )

    def _upload_file(self, reference: ReferenceInput) -> str:
        """`POST {base}/files` with the bytes; the file's `urls.get` is what the input takes."""
        if reference.content is None:
            raise ValueError("only stored bytes are uploaded")
        subtype = reference.mime.lower().partition("/")[2] or "png"
        part = (f"reference.{subtype}", reference.content, f"image/{subtype}")
        response = self.exchange("POST", "/files", files={"content": part})
        if response.status_code not in (200, 201):
            raise self.error_from_reply(response)
        urls = reply_json_object(response, secrets=self.secrets).get("urls")
        url = urls.get("get") if isinstance(urls, Mapping) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise BadResponse(message="Replicate stored a reference image but sent no link to it")
        return url

    # --- errors --------------------------------------------------------------------------
    def error_from_reply(self, response: httpx.Response) -> ProviderError:
        # ASSUMPTION: problem details, {"title", "detail", "status"} (see the module docstring).
        if response.status_code != 404:
            return super().error_from_reply(response)
        _, words = reply_error_fields(response)
        message = f"not found at Replicate (unknown model or prediction): {words}"
        return reply_error(response, secrets=self.secrets, message=message)


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
    if marked(text, ReplicateAdapter.refusal_marks):
        return ContentRefused(message=f"Replicate: {text}", request_id=prediction_id)
    return Unavailable(
        message=f"the Replicate prediction failed: {text}",
        request_id=prediction_id,
        before_accepted=False,
    )
