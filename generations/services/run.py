"""The worker's half of the generation path: route to a provider, store what it returns, settle.

``generation_run`` is idempotent: it acts only on a QUEUED or RUNNING generation (RUNNING means
a redelivery after a crash), skips images of the group that are already stored, and finishes
with a conditional transition, so running it twice never stores an image twice or settles twice.

Synchronous and streaming providers are called in the worker's thread. Job-based providers
(``JobAdapter``) are only submitted here; ``generations.services.jobs`` polls them from
re-scheduled tasks, so a job that runs for a minute does not hold a worker thread for a minute.
"""

import dataclasses
import logging
import time
from functools import partial

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from .. import tasks
from ..credentials import CredentialUnreadable
from ..db import db_release
from ..models import Generation, ProviderAccount, ProviderAttempt
from ..notifications import notify_progress
from ..providers import (
    AuthError,
    JobAdapter,
    ProviderError,
    ProviderRequest,
    RateLimited,
    ReferenceInput,
    Unavailable,
    build_adapter,
)
from ..routing import account_config, accounts_for_model
from .finish import generation_finish
from .images import storage_read
from .outputs import AttemptResult, attempt_record, outcomes_consume
from .poll_schedule import first_poll_delay_s, typical_job
from .provider_accounts import provider_account_record_outcome

logger = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = (
    "Something went wrong on our side while making these images. Nothing was charged; "
    "please try again."
)
NO_PROVIDER_MESSAGE = (
    "No provider account serves {model} right now. "
    "Ask staff to add or enable one (manage.py provider_account)."
)


def generation_run(*, generation_id: str) -> None:
    claimed = _generation_claim(generation_id=generation_id)
    if claimed is None:
        return
    generation, redelivered = claimed
    try:
        # A first run has no calls yet: nothing lost to close, no account tried.
        lost = _attempts_close_lost(generation) if redelivered else None
        generation_route(
            generation,
            request=provider_request(generation),
            last_error=lost,
            tried=None if redelivered else [],
        )
    except (OperationalError, InterfaceError):
        raise  # the database is out of reach: the task retries; failing here would fail too
    except Exception:
        generation_fail_internal(generation)


def _attempts_close_lost(generation: Generation) -> ProviderError | None:
    """Close calls a dead worker left open; the redelivered run calls again (images already
    stored are kept and not asked for twice)."""
    closed = ProviderAttempt.objects.filter(
        generation=generation, outcome=ProviderAttempt.Outcome.RUNNING
    ).update(
        outcome=ProviderAttempt.Outcome.FAILED,
        error_code="worker_lost",
        error_message="The worker stopped during this call; the task was redelivered.",
        finished_at=timezone.now(),
    )
    if not closed:
        return None
    return Unavailable(message="the worker stopped during the call", before_accepted=True)


def generation_fail_internal(generation: Generation) -> None:
    """The last resort: an unexpected error still ends the generation and returns its credits."""
    logger.exception("generation %s failed with an internal error", generation.id)
    ProviderAttempt.objects.filter(
        generation=generation, outcome=ProviderAttempt.Outcome.RUNNING
    ).update(
        outcome=ProviderAttempt.Outcome.FAILED,
        error_code="internal_error",
        finished_at=timezone.now(),
    )
    generation_finish(generation, error_code="internal_error", error_message=INTERNAL_ERROR_MESSAGE)


def _generation_claim(*, generation_id: str) -> tuple[Generation, bool] | None:
    """The generation to run, moved to RUNNING, and whether this is a redelivered run (it was
    RUNNING already: a worker died during it); None when there is nothing to run."""
    # A first run, the usual case, starts in one conditional UPDATE; a redelivered run (or a
    # generation canceled meanwhile) is looked at under the row lock.
    now = timezone.now()
    started = Generation.objects.filter(id=generation_id, status=Generation.Status.QUEUED).update(
        status=Generation.Status.RUNNING, started_at=now, updated_at=now
    )
    if started:
        transaction.on_commit(partial(notify_progress, generation_id), robust=True)
        return Generation.objects.get(id=generation_id), False
    with transaction.atomic():
        generation = Generation.objects.select_for_update().filter(id=generation_id).first()
        if generation is None:
            logger.warning("generation %s does not exist; nothing to run", generation_id)
            return None
        if generation.status != Generation.Status.RUNNING:
            return None  # ended meanwhile (canceled): nothing to run
        if (
            generation.attempts.filter(outcome=ProviderAttempt.Outcome.RUNNING)
            .exclude(job_state={})
            .exists()
        ):
            # A job is already submitted and being polled; a redelivered run must not submit
            # (and pay for) it again.
            return None
    return generation, True


def generation_route(
    generation: Generation,
    *,
    request: ProviderRequest,
    last_error: ProviderError | None = None,
    tried: list[int] | None = None,
) -> None:
    """Call accounts in order until one delivers, a failure is final, or the tries run out.

    ``tried``: the accounts already called for this generation (read from its attempts when
    not given)."""
    if tried is None:
        tried = list(generation.attempts.values_list("account_id", flat=True))
    while True:
        account = _next_account(generation, last_error=last_error, tried=tried)
        if account is None:
            generation_finish(
                generation,
                error_code=last_error.code if last_error else "no_provider",
                error_message=last_error.user_message
                if last_error
                else NO_PROVIDER_MESSAGE.format(model=generation.model),
            )
            return
        if isinstance(last_error, RateLimited) and last_error.retry_after:
            time.sleep(min(last_error.retry_after, settings.PROVIDER_RETRY_AFTER_MAX_S))
        attempt = ProviderAttempt.objects.create(
            generation=generation, account=account, provider_kind=account.kind
        )
        tried.append(account.pk)
        started = time.monotonic()
        try:
            adapter = build_adapter(account_config(account))
        except CredentialUnreadable as unreadable:
            # A key stored under an encryption key we no longer have: this account cannot
            # call, others may. Counted as an auth failure, so it is disabled if it persists.
            result = AttemptResult(error=AuthError(message=str(unreadable)))
            attempt_record(attempt=attempt, result=result, started=started)
            if attempt_conclude(generation, attempt=attempt, result=result):
                return
            last_error = result.error
            continue
        if isinstance(adapter, JobAdapter):
            failed = _job_submit(generation, attempt=attempt, adapter=adapter, request=request)
            if failed is None:
                return  # submitted: the poll task takes it from here
            result = failed
        else:
            result = outcomes_consume(
                generation=generation,
                attempt=attempt,
                outcomes=adapter.generate(request),
                started=started,
            )
        if attempt_conclude(generation, attempt=attempt, result=result):
            return
        last_error = result.error


def attempt_conclude(
    generation: Generation, *, attempt: ProviderAttempt, result: AttemptResult
) -> bool:
    """Finish the generation after an attempt, or say (False) that the next account should try.

    Fails over only when nothing was delivered and the provider surely did not take the call.
    """
    assert attempt.account is not None
    provider_account_record_outcome(account=attempt.account, error=result.error)
    error = result.error
    if error is None or result.stored or not error.failover_safe:
        generation_finish(
            generation,
            attempt=attempt,
            error_code=error.code if error else "",
            error_message=error.user_message if error else "",
            image_errors=result.image_errors,
        )
        return True
    attempt.save()
    logger.info(
        "generation %s: %s failed with %s; trying the next account",
        generation.id,
        attempt.account.label,
        error.code,
    )
    return False


def _next_account(
    generation: Generation, *, last_error: ProviderError | None, tried: list[int]
) -> ProviderAccount | None:
    """The next account to call: one not yet tried, best first, within PROVIDER_MAX_ATTEMPTS.

    With a single account, a passing outage or rate limit is worth one more call to it.
    """
    if len(tried) >= settings.PROVIDER_MAX_ATTEMPTS:
        return None
    accounts = accounts_for_model(model_id=generation.model)
    fresh = [account for account in accounts if account.pk not in tried]
    if fresh:
        return fresh[0]
    transient = isinstance(last_error, Unavailable | RateLimited)
    if transient and len(accounts) == 1 and tried.count(accounts[0].pk) < 2:
        return accounts[0]
    return None


def _job_submit(
    generation: Generation,
    *,
    attempt: ProviderAttempt,
    adapter: JobAdapter,
    request: ProviderRequest,
) -> AttemptResult | None:
    """Submit a job and schedule its first poll; returns a failed result if the submit failed."""
    assert attempt.account_id is not None
    typical = typical_job(account_id=attempt.account_id)
    typical_s = typical.seconds if typical else None
    request = dataclasses.replace(request, typical_job_s=typical_s)
    started = time.monotonic()
    db_release()
    try:
        job = adapter.submit(request)
    except ProviderError as error:
        result = AttemptResult(error=error)
        attempt_record(attempt=attempt, result=result, started=started)
        return result
    attempt.provider_request_id = job.job_id[:255]
    attempt.job_state = dict(job.state)
    attempt.save(update_fields=["provider_request_id", "job_state"])
    # A job the submit already saw finish (Replicate's `Prefer: wait`) is collected at once.
    countdown = (
        0.0
        if job.finished
        else first_poll_delay_s(typical=typical, elapsed_s=time.monotonic() - started)
    )
    transaction.on_commit(
        lambda: tasks.poll_generation_task.apply_async(
            kwargs={
                "generation_id": str(generation.id),
                "attempt_id": attempt.pk,
                "poll": 0,
                "typical_job_s": typical_s,
            },
            countdown=countdown,
        )
    )
    return None


def provider_request(generation: Generation) -> ProviderRequest:
    params = generation.params
    references = tuple(
        ReferenceInput(
            content=storage_read(str(reference.file.name)),
            url=None,
            mime=f"image/{reference.format}",
        )
        for reference in (generation.references.all() if params.get("reference_count", 1) else ())
    )
    return ProviderRequest(
        model=generation.model,
        prompt=generation.prompt,
        size=params["size"],
        aspect_ratio=params.get("aspect_ratio", ""),
        width=params["width"],
        height=params["height"],
        max_images=generation.num_images,
        references=references,
        seed=params.get("seed"),
        guidance_scale=params.get("guidance_scale"),
        output_format=params.get("output_format", "jpeg"),
    )
