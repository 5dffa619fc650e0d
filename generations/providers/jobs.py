"""The contract of task-based providers: submit a job, poll it later, cancel it.

Replicate, fal, Scenario and SinanCode run a generation as a job that takes 10-60 s or more.
Holding a worker thread while it runs would waste it, so these adapters split the call: the
worker submits and keeps the returned ``ProviderJob`` (plain JSON-able data) on the attempt,
then a re-scheduled task polls it with back-off until it is done or the deadline passes.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from generations.providers.contract import (
    BaseAdapter,
    ProviderOutcome,
    ProviderRequest,
)
from generations.providers.errors import ProviderTimeout


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

    @abstractmethod
    def submit(self, request: ProviderRequest) -> ProviderJob: ...

    @abstractmethod
    def poll(self, job: ProviderJob) -> JobStatus: ...

    @abstractmethod
    def cancel(self, job: ProviderJob) -> None:
        """Ask the provider to stop the job; best effort, never raises for an unknown job."""

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
