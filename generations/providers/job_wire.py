"""What the job executor's adapters (Replicate, fal, Scenario, SinanCode, Ace's async mode) do
alike around a poll.

Download a finished job's outputs (one implementation, one retry), read a poll that failed,
read how long a job ran by the provider's clock, name a job that was canceled, keep our key on
the API's own origin, and, for the two task providers that share reply envelopes (Scenario,
SinanCode), their marks and what neither can do. One place for each, so the adapters differ
only where their providers, or their documented choices, do.

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
from generations.providers.contract import ProviderImage, ProviderImageFailure
from generations.providers.errors import (
    BadRequest,
    BadResponse,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    Unavailable,
)
from generations.providers.inputs import AccountConfig, ProviderRequest
from generations.providers.jobs import JobAdapter, JobStatus
from generations.providers.replies import reply_error
from generations.providers.wire import (
    accepted_call,
    fetch_image,
    wants_watermark,
)

__all__ = [
    "PASSING_POLL_FAILURES",
    "TASK_BALANCE_MARKS",
    "TASK_REFUSAL_MARKS",
    "TRANSIENT_POLL_ERRORS",
    "collect_outputs",
    "finished_job",
    "http_error",
    "job_canceled",
    "job_id_of",
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

# The classification marks of the two task APIs that share reply envelopes (Scenario and
# SinanCode): the words of a content refusal, and of a 403 that is about money, not the key.
TASK_REFUSAL_MARKS = (
    "sensitive",
    "moderation",
    "nsfw",
    "content policy",
    "content_policy",
    "safety",
)
TASK_BALANCE_MARKS = ("credit", "balance", "quota", "insufficient", "plan", "subscription")


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


def job_id_of(value: object, *, missing: str) -> str:
    """The job id a submit's reply names; `BadResponse` saying `missing` where it names none
    (never failover-safe: the provider answered, so it may have taken the job)."""
    if not isinstance(value, str) or not value:
        raise BadResponse(message=missing)
    return value


def job_canceled(provider: str, job_id: str) -> ProviderError:
    """A job someone stopped before it finished (usually we did, for a canceled generation)."""
    return ProviderError(
        message=f"the {provider} job was canceled before it finished",
        code="job_canceled",
        request_id=job_id,
    )


# --- Scenario and SinanCode: refusals -------------------------------------------------------


def http_error(response: httpx.Response, *, secrets: tuple[str, ...]) -> ProviderError:
    """A refusing reply of Scenario's or SinanCode's as its `ProviderError` (their marks)."""
    return reply_error(
        response,
        refusal_marks=TASK_REFUSAL_MARKS,
        balance_marks=TASK_BALANCE_MARKS,
        secrets=secrets,
    )


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
