"""Polling job-based providers from re-scheduled tasks, within the generation's deadline."""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from generations.models import Generation, ProviderAttempt
from generations.providers import (
    JobAdapter,
    ProviderError,
    ProviderJob,
    ProviderTimeout,
    build_adapter,
)
from generations.runtime.db import db_release
from generations.services.lifecycle import generation_finish
from generations.services.outputs import AttemptResult, attempt_record, outcomes_consume
from generations.services.poll_schedule import poll_delay_s
from generations.services.routing import account_config
from generations.services.run import (
    attempt_conclude,
    generation_fail_internal,
    generation_route,
    poll_schedule,
    provider_request,
)

logger = logging.getLogger(__name__)


def generation_poll(
    *, generation_id: str, attempt_id: int, poll: int, typical_job_s: float | None = None
) -> None:
    """One poll of a submitted job: store its images when done, else poll again later (sooner
    once it is due: ``typical_job_s`` is how long its account's recent jobs took).

    Acts only while the generation is RUNNING and the attempt still open, so a duplicate or late
    poll does nothing; a canceled generation gets its job canceled at the provider.
    """
    # Claim this poll: a redelivered or duplicate poll task (the broker may deliver twice) finds
    # the count moved on and does nothing, so poll chains never multiply.
    claimed = ProviderAttempt.objects.filter(
        pk=attempt_id,
        generation_id=generation_id,
        polls=poll,
        outcome=ProviderAttempt.Outcome.RUNNING,
    ).update(polls=poll + 1)
    if not claimed:
        return
    try:
        attempt = ProviderAttempt.objects.select_related("account", "generation").get(
            pk=attempt_id, generation_id=generation_id
        )
    except ProviderAttempt.DoesNotExist:
        return
    generation = attempt.generation
    if generation.status != Generation.Status.RUNNING:
        attempt_cancel_at_provider(attempt=attempt)
        return
    try:
        _poll_once(generation, attempt=attempt, poll=poll, typical_job_s=typical_job_s)
    except (OperationalError, InterfaceError):
        raise  # the database is out of reach: the task retries; failing here would fail too
    except Exception:
        generation_fail_internal(generation)


def _poll_once(
    generation: Generation, *, attempt: ProviderAttempt, poll: int, typical_job_s: float | None
) -> None:
    assert attempt.account is not None
    adapter = build_adapter(account_config(attempt.account))
    assert isinstance(adapter, JobAdapter)
    job = ProviderJob(job_id=attempt.provider_request_id, state=attempt.job_state)
    started = time.monotonic()
    if _past_deadline(generation):
        adapter.cancel(job)
        minutes = settings.GENERATION_DEADLINE_S / 60
        error = ProviderTimeout(
            message=f"the job was not finished after {minutes:.0f} minutes",
            before_accepted=False,
        )
        attempt_record(attempt=attempt, result=AttemptResult(error=error), started=started)
        generation_finish(
            generation,
            attempt=attempt,
            error_code="deadline_exceeded",
            error_message=f"The provider did not finish within {minutes:.0f} minutes. "
            "The job was canceled and nothing was charged.",
        )
        return
    db_release()
    try:
        status = adapter.poll(job)
    except ProviderError as error:
        result = AttemptResult(error=error)
        attempt_record(attempt=attempt, result=result, started=started)
        if not attempt_conclude(generation, attempt=attempt, result=result):
            generation_route(generation, request=provider_request(generation), last_error=error)
        return
    if not status.done:
        poll_schedule(
            generation,
            attempt=attempt,
            poll=poll + 1,
            typical_s=typical_job_s,
            countdown=poll_delay_s(
                elapsed_s=(timezone.now() - attempt.started_at).total_seconds(),
                typical_job_s=typical_job_s,
            ),
        )
        return
    result = outcomes_consume(
        generation=generation, attempt=attempt, outcomes=status.outcomes, started=started
    )
    attempt.latency_ms = int((timezone.now() - attempt.started_at).total_seconds() * 1000)
    attempt.job_ms = None if status.ran_s is None else int(status.ran_s * 1000)
    if not attempt_conclude(generation, attempt=attempt, result=result):
        generation_route(generation, request=provider_request(generation), last_error=result.error)


def _past_deadline(generation: Generation) -> bool:
    started = generation.started_at or generation.created_at
    return timezone.now() > started + timedelta(seconds=settings.GENERATION_DEADLINE_S)


def attempt_cancel_at_provider(*, attempt: ProviderAttempt) -> None:
    """Best effort: ask the provider to stop an open job; the attempt is closed either way."""
    if attempt.outcome != ProviderAttempt.Outcome.RUNNING or attempt.account is None:
        return
    adapter = build_adapter(account_config(attempt.account))
    if isinstance(adapter, JobAdapter) and attempt.provider_request_id:
        try:
            adapter.cancel(ProviderJob(job_id=attempt.provider_request_id, state=attempt.job_state))
        except ProviderError as error:
            logger.warning("could not cancel job %s: %s", attempt.provider_request_id, error)
    ProviderAttempt.objects.filter(pk=attempt.pk, outcome=ProviderAttempt.Outcome.RUNNING).update(
        outcome=ProviderAttempt.Outcome.FAILED,
        error_code="canceled",
        error_message="Canceled by the user; the provider was asked to stop.",
        finished_at=timezone.now(),
    )
