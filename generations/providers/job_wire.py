"""What the job-based adapters (Replicate, fal, Scenario, SinanCode) do alike on the wire.

Download a finished job's outputs (one implementation, one retry), read a poll that failed,
read how long a job ran by the provider's clock, name a job that was canceled or failed, keep
our key on the API's own origin, and, for the two task providers that share reply envelopes
(Scenario, SinanCode), map an error reply and refuse what neither can do. One place for each,
so the adapters differ only where their providers, or their documented choices, do.

Downloads and polls run after the provider took the job: nothing they raise is failover-safe,
because the provider may bill the job and sending the request elsewhere could pay twice
(`BaseAdapter.download_image` marks its own transport errors so; `poll_failure` does the rest).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from generations.providers.calls import ImageLink, ReplyItem
from generations.providers.contract import (
    AccountConfig,
    BaseAdapter,
    ProviderImage,
    ProviderImageFailure,
    ProviderRequest,
)
from generations.providers.errors import (
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
from generations.providers.jobs import JobAdapter, JobStatus
from generations.providers.wire import (
    accepted_call,
    fetch_image,
    reply_json_object,
    wants_watermark,
)

__all__ = [
    "PASSING_POLL_FAILURES",
    "TRANSIENT_POLL_ERRORS",
    "collect_outputs",
    "failed_job_error",
    "finished_job",
    "http_error",
    "job_canceled",
    "json_call",
    "missing_images",
    "poll_failure",
    "poll_record",
    "refuse_unsupported",
    "same_origin_url",
]

# A poll whose own exchange failed like this is "not done yet": the job still runs at the
# provider and the next poll asks again, within the generation's deadline.
PASSING_POLL_FAILURES: tuple[type[ProviderError], ...] = (Unavailable, ProviderTimeout, RateLimited)
# Scenario and SinanCode also wait out an unreadable status reply (a proxy's page, say).
TRANSIENT_POLL_ERRORS: tuple[type[ProviderError], ...] = (*PASSING_POLL_FAILURES, BadResponse)

_REFUSAL_MARKS = ("sensitive", "moderation", "nsfw", "content policy", "content_policy", "safety")
_BALANCE_MARKS = ("credit", "balance", "quota", "insufficient", "plan", "subscription")


# --- outputs -------------------------------------------------------------------------------


def collect_outputs(
    adapter: JobAdapter, urls: Sequence[str], *, expected: int, provider: str
) -> list[ProviderImage | ProviderImageFailure]:
    """Every output downloaded (`wire.fetch_image`, transport failures raised, so the caller's poll
    is retried), then one `ProviderImageFailure` per image the provider made fewer than asked."""
    outcomes = [
        fetch_image(adapter, url, index=index, raise_transport_errors=True)
        for index, url in enumerate(urls)
    ]
    return outcomes + missing_images(returned=len(urls), expected=expected, provider=provider)


def finished_job(adapter: JobAdapter, items: Sequence[ReplyItem]) -> JobStatus:
    """A finished job's status from what its reply says: each image link downloaded now
    (`wire.fetch_image`), the rest handed on as they are. A download that could not connect
    leaves the job "not done yet", so the next poll downloads again; nothing raised may fail
    over, since the provider made (and billed) the images."""
    try:
        with accepted_call():
            outcomes = tuple(
                fetch_image(adapter, item.url, index=item.index, raise_transport_errors=True)
                if isinstance(item, ImageLink)
                else item
                for item in items
            )
    except (Unavailable, ProviderTimeout) as error:
        return poll_failure(error, provider_status="finished; downloading")
    return JobStatus(done=True, outcomes=outcomes, provider_status="finished")


def json_call(
    adapter: BaseAdapter,
    client: httpx.Client,
    method: str,
    url: str,
    body: Mapping[str, Any] | None = None,
    *,
    error: Callable[[httpx.Response], ProviderError] | None = None,
) -> Mapping[str, Any]:
    """One call of a job API answered with a JSON object (200 or 201); anything else raised as
    the `ProviderError` its status and body say (`error`, by default `http_error`)."""
    with map_transport_errors(secrets=adapter.secrets):
        response = client.request(method, url, json=body)
    if response.status_code not in (200, 201):
        if error is not None:
            raise error(response)
        raise http_error(response, secrets=adapter.secrets)
    return reply_json_object(response, secrets=adapter.secrets)


def missing_images(*, returned: int, expected: int, provider: str) -> list[ProviderImageFailure]:
    """One `ProviderImageFailure` per image of the group the provider did not return.

    A group may legitimately come out smaller (the model decides), or the provider's output
    filter took an image out; the provider does not say which. Either way the caller learns
    which images are missing, as with a failure the provider names."""
    return [
        ProviderImageFailure(
            index=index,
            code=ProviderError.code,
            message=f"{provider} returned {returned} of the {expected} images asked for",
        )
        for index in range(returned, expected)
    ]


# --- polls ---------------------------------------------------------------------------------


def poll_failure(
    error: ProviderError,
    *,
    provider_status: str = "",
    passing: tuple[type[ProviderError], ...] = PASSING_POLL_FAILURES,
) -> JobStatus:
    """What a poll whose own HTTP exchange failed reports.

    A `passing` failure (5xx, 429, a dropped or slow connection) is "not done yet". Anything
    else is raised, never failover-safe: the provider accepted the job and may bill it.
    """
    if isinstance(error, passing):
        return JobStatus(
            done=False, provider_status=provider_status or f"poll failed: {error.code}"
        )
    error.failover_safe = False
    raise error


def poll_record(
    fetch: Callable[[], Mapping[str, Any]], *, key: str = ""
) -> Mapping[str, Any] | JobStatus:
    """The job record a status read returns (under `key` when the provider wraps it), or a
    not-done `JobStatus` when the read failed in a way worth retrying at the next poll
    (`TRANSIENT_POLL_ERRORS`: Scenario's and SinanCode's choice)."""
    try:
        reply = fetch()
    except ProviderError as error:
        return poll_failure(
            error,
            provider_status=f"status unreadable ({error.code}); retrying",
            passing=TRANSIENT_POLL_ERRORS,
        )
    record = reply.get(key) if key else reply
    if not isinstance(record, Mapping):
        return JobStatus(done=False, provider_status="status reply without a job; retrying")
    return record


# --- ended jobs ----------------------------------------------------------------------------


def job_canceled(provider: str, job_id: str) -> ProviderError:
    """A job someone stopped before it finished (usually we did, for a canceled generation)."""
    return ProviderError(
        message=f"the {provider} job was canceled before it finished",
        code="job_canceled",
        request_id=job_id,
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


# --- Scenario and SinanCode: error replies and refusals ------------------------------------


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


# --- URLs ----------------------------------------------------------------------------------


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


def seconds_between(started: object, ended: object) -> float | None:
    """Seconds from one ISO-8601 timestamp of a provider's reply to another, or None when
    either is missing or unreadable or they run backwards (a reply is no place to fail on)."""
    if not isinstance(started, str) or not isinstance(ended, str):
        return None
    try:
        seconds = (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()
    except (ValueError, TypeError):  # TypeError: one is aware of its zone, the other not
        return None
    return seconds if seconds >= 0 else None
