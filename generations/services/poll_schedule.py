"""When to poll a submitted job: rarely before it is likely done, promptly after.

Polls come at a fifth of the job's age (between PROVIDER_POLL_FIRST_S and PROVIDER_POLL_MAX_S),
so a finished job is noticed within ~20% of its run time. The first poll waits for the time
this account's recent jobs took (``typical_job``): a provider whose jobs take 10 s is asked once
or twice per job instead of eight times, which is provider rate limit and worker time saved.

- Where the provider reports its jobs' run times by its own clock (Replicate), the typical time
  is exact, and the first poll comes just after it, counted from the submit's answer (the job
  began before it): most jobs are collected by that one poll.
- Otherwise the typical time is our own (submit to the poll that saw the job done), which runs
  a little long by the polls' own spacing, and the first poll comes at 80% of it.

While the job is due (up to twice the typical time), polls come every tenth of that typical
time, so a job finishing just after a poll is noticed within about a second. An account
without recent jobs starts at PROVIDER_POLL_FIRST_S. If the provider gets faster, jobs are
noticed late (by at most the old typical time) until the new times fill the history.
"""

import statistics
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from generations.models import ProviderAttempt

POLL_AGE_FRACTION = 0.2
# Without the provider's own run times, the first poll comes at this fraction of the account's
# typical job time ...
TYPICAL_FRACTION = 0.8
# ... with them, this long after it, counted from the submit's answer: the job began before that
# answer, so the poll cannot come early, and the slack covers the jobs' own spread a little.
EXACT_SLACK_FRACTION = 0.01
EXACT_SLACK_S = 0.1
# The typical time is the median of the account's last this-many successful jobs finished
# within the window.
HISTORY_SIZE = 20
HISTORY_WINDOW = timedelta(hours=1)
# ... read from the database at most this often per account: a burst of submits shares one read.
TYPICAL_CACHE_S = 5
# While a job is due (up to DUE_SPAN times the typical time), polls come at least every
# DUE_FRACTION of the typical time, so a job finishing just after a poll is not left waiting
# a fifth of its age.
DUE_SPAN = 2.0
DUE_FRACTION = 0.1


def poll_delay_s(*, elapsed_s: float, typical_job_s: float | None = None) -> float:
    """Seconds until the next poll of a job running for ``elapsed_s``: a fifth of its age,
    between PROVIDER_POLL_FIRST_S and PROVIDER_POLL_MAX_S; while the job is due (up to twice
    its account's typical time), at most a tenth of that typical time."""
    regular = min(
        max(POLL_AGE_FRACTION * elapsed_s, settings.PROVIDER_POLL_FIRST_S),
        settings.PROVIDER_POLL_MAX_S,
    )
    if typical_job_s is None or elapsed_s > DUE_SPAN * typical_job_s:
        return regular
    return max(min(regular, DUE_FRACTION * typical_job_s), settings.PROVIDER_POLL_FIRST_S)


@dataclass(frozen=True)
class TypicalJob:
    """How long an account's recent jobs took: ``seconds``, by the provider's own clock when
    ``exact``, else by ours (submit to the poll that saw the job done, and its download)."""

    seconds: float
    exact: bool


def first_poll_delay_s(*, typical: TypicalJob | None, elapsed_s: float = 0.0) -> float:
    """Seconds until the first poll of a job submitted ``elapsed_s`` ago (a submit may have been
    held open, as Replicate's `Prefer: wait` does) on an account whose recent jobs typically
    took ``typical`` (see ``typical_job``; None: no recent jobs)."""
    regular = poll_delay_s(elapsed_s=elapsed_s)
    if typical is None:
        return regular
    if typical.exact:
        if elapsed_s >= typical.seconds:
            return regular  # held open past the typical time (`Prefer: wait`): late already
        slack = max(EXACT_SLACK_FRACTION * typical.seconds, EXACT_SLACK_S)
        return max(typical.seconds + slack, regular)
    return max(TYPICAL_FRACTION * typical.seconds - elapsed_s, regular)


def typical_job(*, account_id: int) -> TypicalJob | None:
    """The median time of the account's recent successful jobs, or None without any: by the
    provider's clock when it reported each of them, else by ours. At most TYPICAL_CACHE_S old."""
    key = f"poll-schedule:typical-job:{account_id}"
    cached = cache.get(key)
    if cached is not None:
        return TypicalJob(*cached) if cached else None
    typical = _typical_job_read(account_id=account_id)
    cache.set(key, (typical.seconds, typical.exact) if typical else (), TYPICAL_CACHE_S)
    return typical


def _typical_job_read(*, account_id: int) -> TypicalJob | None:
    recent = list(
        ProviderAttempt.objects.filter(
            account_id=account_id,
            outcome=ProviderAttempt.Outcome.SUCCEEDED,
            finished_at__gte=timezone.now() - HISTORY_WINDOW,
            latency_ms__isnull=False,
        )
        .order_by("-finished_at")
        .values_list("job_ms", "latency_ms")[:HISTORY_SIZE]
    )
    if not recent:
        return None
    provider_times = [job_ms for job_ms, _ in recent if job_ms is not None]
    if len(provider_times) == len(recent):
        return TypicalJob(seconds=statistics.median(provider_times) / 1000, exact=True)
    return TypicalJob(
        seconds=statistics.median(latency for _, latency in recent if latency is not None) / 1000,
        exact=False,
    )
