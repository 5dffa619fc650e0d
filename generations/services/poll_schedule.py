"""When to poll a submitted job: rarely before it is likely done, promptly after.

Polls come at a fifth of the job's age (between PROVIDER_POLL_FIRST_S and PROVIDER_POLL_MAX_S),
so a finished job is noticed within ~20% of its run time. The first poll waits for most of the
time this account's recent jobs took: a provider whose jobs take 10 s is asked twice per job
instead of eight, which is provider rate limit and worker time saved; while the job is due the
polls come every tenth of that typical time, so it is noticed within about a second. An account
without recent jobs starts at PROVIDER_POLL_FIRST_S. If the provider gets faster, jobs are
noticed late (by at most 80% of the old typical time) until the new times fill the history.
"""

import statistics
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..models import ProviderAttempt

POLL_AGE_FRACTION = 0.2
# The first poll comes at this fraction of the account's typical job time ...
TYPICAL_FRACTION = 0.8
# ... the median of its last this-many successful jobs finished within the window.
HISTORY_SIZE = 20
HISTORY_WINDOW = timedelta(hours=1)
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


def first_poll_delay_s(*, typical_job_s: float | None, elapsed_s: float = 0.0) -> float:
    """Seconds until the first poll of a job submitted ``elapsed_s`` ago (a submit may have been
    held open, as Replicate's `Prefer: wait` does) on an account whose recent jobs typically
    took ``typical_job_s`` (see ``typical_job_s``; None: no recent jobs)."""
    regular = poll_delay_s(elapsed_s=elapsed_s)
    if typical_job_s is None:
        return regular
    return max(TYPICAL_FRACTION * typical_job_s - elapsed_s, regular)


def typical_job_s(*, account_id: int) -> float | None:
    """The median time of the account's recent successful jobs, or None without any."""
    latencies = [
        latency
        for latency in ProviderAttempt.objects.filter(
            account_id=account_id,
            outcome=ProviderAttempt.Outcome.SUCCEEDED,
            finished_at__gte=timezone.now() - HISTORY_WINDOW,
            latency_ms__isnull=False,
        )
        .order_by("-finished_at")
        .values_list("latency_ms", flat=True)[:HISTORY_SIZE]
        if latency is not None
    ]
    return statistics.median(latencies) / 1000 if latencies else None
