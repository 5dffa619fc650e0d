"""The executor of job providers: submit a job, poll it later, cancel it.

Replicate, fal, Scenario, SinanCode and Ace Data Cloud's async mode run a generation as a job
that takes 10-60 s or more. Holding a worker thread while it runs would waste it, so these
adapters split the call: the worker submits and keeps the returned ``ProviderJob`` (plain
JSON-able data) on the attempt, then a re-scheduled task polls it with back-off until it is done
or the deadline passes.

A `JobAdapter` translates: what to submit, how to read a job's status, how to cancel it, and
its classification marks. The exchanges themselves are here, once: the client, its headers and
timeouts, transport and status error mapping (`exchange`, `call_json`, `error_from_reply`) and
a failed job's error (`failed_job_error`); `job_wire` has the downloads and the poll rules.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from generations.providers.base import BaseAdapter
from generations.providers.contract import ProviderOutcome
from generations.providers.errors import ContentRefused, ProviderError, ProviderTimeout, Unavailable
from generations.providers.http import map_transport_errors, redact
from generations.providers.inputs import ProviderRequest
from generations.providers.replies import error_fields, marked, reply_error
from generations.providers.wire import reply_json_object


@dataclass(frozen=True)
class ProviderJob:
    """A submitted job: its id at the provider and whatever the adapter needs to poll it
    (status/result URLs, the model path…). ``state`` must be JSON-serializable: it is stored.

    ``finished`` says the submit's own answer already showed the job ended (succeeded, failed or
    canceled), e.g. Replicate's create held open with ``Prefer: wait``. ``state`` then carries
    that answer, so the first ``poll`` completes (downloads the outputs or raises the failure)
    without asking the provider again, and the worker schedules that poll at once. Only the
    submit's caller sees the flag: it is not stored, the poll reads ``state``.
    """

    job_id: str
    state: Mapping[str, Any] = field(default_factory=dict)
    finished: bool = False


@dataclass(frozen=True)
class JobStatus:
    """One poll's answer. ``done`` with ``outcomes`` (images with bytes, per-image failures,
    then one ``ProviderUsage``) when finished; not done while queued or running."""

    done: bool
    outcomes: tuple[ProviderOutcome, ...] = ()
    progress: float | None = None  # 0..1 where the provider reports it
    provider_status: str = ""
    # Seconds from the job's creation to its completion by the provider's own clock, where
    # its answer tells (Replicate's created_at/completed_at): the job's time without the
    # detour of our polls and downloads, from which the next jobs' polls are timed.
    ran_s: float | None = None


class JobAdapter(BaseAdapter):
    """Base of task-based adapters. Subclasses implement submit, poll and cancel.

    ``poll`` raises a ``ProviderError`` when the job failed at the provider (e.g. content
    refused -> ``ContentRefused``; failed after running -> ``Unavailable(before_accepted=False)``
    unless the provider says it did not bill). Unknown statuses count as still running.
    """

    is_job_based: ClassVar[bool] = True
    # How long the blocking `generate` (used by `check` and simple callers) waits in all.
    blocking_deadline_s: ClassVar[float] = 600.0
    # The provider's classification marks: words in an error's code or text that mean a
    # content refusal, or (in a 403) an account out of balance. Matched without case.
    refusal_marks: ClassVar[tuple[str, ...]] = ()
    balance_marks: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def submit(self, request: ProviderRequest) -> ProviderJob: ...

    @abstractmethod
    def poll(self, job: ProviderJob) -> JobStatus: ...

    @abstractmethod
    def cancel(self, job: ProviderJob) -> None:
        """Ask the provider to stop the job; best effort, never raises for an unknown job."""

    def error_from_reply(self, response: httpx.Response) -> ProviderError:
        """A reply that is not a success as its `ProviderError`, by the provider's marks and
        its status (`replies.reply_error`); adapters whose provider says more refine it."""
        return reply_error(
            response,
            refusal_marks=self.refusal_marks,
            balance_marks=self.balance_marks,
            secrets=self.secrets,
        )

    def exchange(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One exchange with the job API (`url` absolute, or a path under the account's base
        URL), with our key and the account's timeouts; transport failures raised as
        `ProviderError`s."""
        if url.startswith("/"):
            url = f"{self.base_url}{url}"
        all_headers = {**self.auth_headers(), "Accept": "application/json", **(headers or {})}
        with (
            self.http_client(headers=all_headers) as client,
            map_transport_errors(secrets=self.secrets),
        ):
            return client.request(method, url, json=json, files=files)

    def call_json(
        self,
        method: str,
        url: str,
        body: Mapping[str, Any] | None = None,
        *,
        ok: tuple[int, ...] = (200, 201),
        headers: Mapping[str, str] | None = None,
    ) -> Mapping[str, Any]:
        """One exchange answered with a JSON object (status in `ok`); anything else raised as
        the `ProviderError` it means (`error_from_reply`)."""
        response = self.exchange(method, url, json=body, headers=headers)
        if response.status_code not in ok:
            raise self.error_from_reply(response)
        return reply_json_object(response, secrets=self.secrets)

    def failed_job_error(self, provider: str, error: object, *, job_id: str) -> ProviderError:
        """The error for a job the provider reports failed: a refusal (by the marks), or a
        not-failover-safe `Unavailable` (it was accepted, so it may have been billed)."""
        code, text = error_fields(error)
        message = redact(f"{provider} job {job_id} failed: {text or 'no details'}", self.secrets)
        if marked(f"{code} {text}", self.refusal_marks):
            return ContentRefused(message=message, provider_code=code or None)
        return Unavailable(message=message, provider_code=code or None, before_accepted=False)

    def generate(self, request: ProviderRequest) -> Iterator[ProviderOutcome]:
        """Submit and poll in this thread (for `check`, scripts and tests; the worker does not
        use this: it polls from re-scheduled tasks)."""
        job = self.submit(request)
        deadline = time.monotonic() + self.blocking_deadline_s
        interval = 0.5
        while True:
            status = self.poll(job)
            if status.done:
                yield from status.outcomes
                return
            if time.monotonic() > deadline:
                self.cancel(job)
                raise ProviderTimeout(
                    message=f"job {job.job_id} not finished after {self.blocking_deadline_s:.0f} s",
                    before_accepted=False,
                )
            self.sleep(interval)
            interval = min(interval * 1.5, 5.0)
