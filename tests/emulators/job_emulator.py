"""The job plumbing every task-based provider emulator shares (Replicate, fal, Scenario,
SinanCode and Ace's task API): a thread-safe book of jobs, each job's timeline, the faults that
ride on a job, cancelling, and the job's outcome landing as success, partial group or failure.

A provider emulator subclasses `JobEmulator` and keeps only its routes, its request validation
and its reply shapes: it creates a `Job` at submit (with the size and count its request asks
for, and `job_fault(fault)`), moves it on with `advance` when a status poll reads it, cancels
it with `cancel_job`, and renders `job.phase` / `job.outputs` in its own words.

Timing: with `ready_after_polls=N` (default 1) a job is unfinished on its first N polls and
finished on poll N+1; with `job_seconds=L` it finishes L seconds after submit, however often it
is polled. How an unfinished job reads differs by provider, and each says so with three class
attributes: `shows_queued_polls` (polls before poll N read queued, poll N running; otherwise
running from the first poll), `refuses_at_first_poll` (moderation runs before any generation:
a refused job fails on its first poll) and `failure_follows_run` (a job that fails after running
is seen running at least once).

Job faults (`JOB_FAULTS`; a provider may take fewer or others with `job_faults`): stuck (stays
unfinished forever), fail_after_run (runs, then fails), refuse (fails as a content refusal),
partial (a group comes back one image short; a single image is left alone), expired_url (the
result links are already gone), flaky_download (each result link answers 404 once).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, TypedDict, TypeVar

from tests.emulators.base import Emulator, Fault

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "canceled",
)
FINISHED = frozenset({SUCCEEDED, FAILED, CANCELED})
JOB_FAULTS = frozenset(
    {"stuck", "fail_after_run", "refuse", "partial", "expired_url", "flaky_download"}
)


@dataclass(kw_only=True)
class Job:
    """One submitted job; `phase` is queued, running, succeeded, failed or canceled."""

    id: str
    params: dict[str, Any]  # the accepted request body
    model: str = ""  # the model (or endpoint) the job runs, as the provider names it
    fault: str = ""  # the job fault met at submit, or ""
    width: int = 1024
    height: int = 1024
    count: int = 1  # images a full success makes
    fmt: str = "jpeg"
    created_at: float = field(default_factory=time.monotonic)
    created_wall: float = field(default_factory=time.time)
    finished_wall: float | None = None  # when it finished or was canceled (wall clock)
    polls: int = 0
    phase: str = QUEUED
    started: bool = False  # seen running at least once
    outputs: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Set once the job has finished or was canceled: ends a wait on it early.
    settled: threading.Event = field(default_factory=threading.Event, repr=False)


AnyJob = TypeVar("AnyJob", bound=Job)


class JobEmulatorOptions(TypedDict, total=False):
    """What every job emulator takes; a provider's own options come beside these."""

    api_key: str
    latency_s: float
    ready_after_polls: int
    job_seconds: float | None


class JobEmulator(Emulator):
    """An emulator whose generations run as jobs: submit, poll, cancel."""

    job_faults: frozenset[str] = JOB_FAULTS
    shows_queued_polls = True
    refuses_at_first_poll = False
    failure_follows_run = False

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        latency_s: float = 0.0,
        ready_after_polls: int = 1,
        job_seconds: float | None = None,
    ) -> None:
        super().__init__(api_key=api_key, latency_s=latency_s)
        if ready_after_polls < 0 or (job_seconds is not None and job_seconds < 0):
            raise ValueError("ready_after_polls and job_seconds must not be negative")
        self.ready_after_polls = ready_after_polls
        self.job_seconds = job_seconds
        self.jobs: dict[str, Job] = {}
        self._jobs_lock = threading.Lock()  # the book and the image counter; never the base lock
        self._made = 0  # varies each image's colour, so tests can tell them apart

    # --- the book ------------------------------------------------------------------------
    def job_fault(self, fault: Fault | None) -> str:
        """The fault a new job carries: the request's fault when it is one that rides on a job."""
        return fault.kind if fault is not None and fault.kind in self.job_faults else ""

    def add_job(self, job: AnyJob) -> AnyJob:
        with self._jobs_lock:
            self.jobs[job.id] = job
        return job

    def find_job(self, job_id: str) -> Job | None:
        with self._jobs_lock:
            return self.jobs.get(job_id)

    # --- the timeline --------------------------------------------------------------------
    def advance(self, job: Job, *, poll: bool) -> str:
        """Move `job` along its timeline (counting a status poll if `poll`); its phase now."""
        with job.lock:
            job.polls += poll
            if job.phase in FINISHED or job.fault == "stuck":
                return job.phase
            on_time = self._due(job)
            refused_early = self.refuses_at_first_poll and job.fault == "refuse"
            if self.failure_follows_run and job.fault == "fail_after_run" and not job.started:
                on_time = False
            if on_time or refused_early:
                timed = on_time and self.job_seconds is not None
                self._finish(job, at=job.created_wall + (self.job_seconds or 0) if timed else None)
            elif not (self._shows_queued(job)):
                job.phase, job.started = RUNNING, True
            return job.phase

    def progress(self, job: Job) -> float:
        """How far along `job` is, 0 to 1 (1 only once it has succeeded)."""
        if job.phase == SUCCEEDED:
            return 1.0
        if job.phase != RUNNING:
            return 0.0
        if self.job_seconds:
            return round(min(0.99, (time.monotonic() - job.created_at) / self.job_seconds), 2)
        return round(min(0.99, job.polls / (self.ready_after_polls + 1)), 2)

    def cancel_job(self, job: Job) -> bool:
        """Cancel an unfinished job; False when it had finished already."""
        with job.lock:
            if job.phase in FINISHED:
                return False
            job.phase = CANCELED
            job.finished_wall = time.time()
        job.settled.set()
        return True

    def hold(self, job: Job, seconds: float) -> None:
        """Wait up to `seconds` for `job` to finish, then bring it up to date.

        Only with `job_seconds`: by polls, no amount of waiting finishes a job.
        """
        if self.job_seconds is None or seconds <= 0:
            return
        due_in = self.job_seconds - (time.monotonic() - job.created_at)
        if job.fault == "stuck":
            due_in = seconds
        # The job finishes lazily (on `advance`), so wait until it is due; a cancel ends it early.
        job.settled.wait(timeout=max(0.0, min(seconds, due_in)))
        self.advance(job, poll=False)

    # --- the outcome ---------------------------------------------------------------------
    def land_outcome(self, job: Job) -> None:
        """Set a due job's phase and outputs from its fault (the caller holds its lock)."""
        if job.fault in ("refuse", "fail_after_run"):
            job.phase = FAILED
            return
        count = job.count - 1 if job.fault == "partial" and job.count > 1 else job.count
        for _ in range(count):
            seed = self.next_seed()
            url = self.store_image(width=job.width, height=job.height, fmt=job.fmt, seed=seed)
            if job.fault == "expired_url":
                self.forget_file(url)
            elif job.fault == "flaky_download":
                self.make_flaky(url)
            job.outputs.append(self.output_for(job, url, seed))
        job.phase = SUCCEEDED

    def output_for(self, job: Job, url: str, seed: int) -> str:
        """What a job's result names for one image it made: its URL, unless the provider
        names something else (Scenario: an asset id)."""
        return url

    def next_seed(self) -> int:
        with self._jobs_lock:
            self._made += 1
            return self._made

    def _finish(self, job: Job, *, at: float | None) -> None:
        # A timed job finished when its time was up (`at`), however late a poll noticed it.
        job.finished_wall = at if at is not None else time.time()
        self.land_outcome(job)
        job.settled.set()

    def _due(self, job: Job) -> bool:
        if self.job_seconds is not None:
            return time.monotonic() - job.created_at >= self.job_seconds
        return job.polls > self.ready_after_polls

    def _shows_queued(self, job: Job) -> bool:
        return (
            self.shows_queued_polls
            and self.job_seconds is None
            and job.polls < self.ready_after_polls
        )
