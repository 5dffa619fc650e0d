"""The worker's half of the generation path: route to a provider, store what it returns, settle.

``generation_run`` is idempotent: it starts only a QUEUED generation; a redelivered task for a
RUNNING one hands it to ``recovery`` (which acts only once the run's lease has lapsed), images
of the group already stored are skipped, and the end is one lifecycle transition, so running it
twice never stores an image twice or settles twice.

Providers that answer in the response (``CallAdapter``) are called on the worker process's
event loop (``providers.calls``), holding no thread while they work; outside a worker (tests,
an inline task) the same call runs in the caller's thread. Job-based providers
(``JobAdapter``) are only submitted here; ``generations.services.polling`` polls them from
re-scheduled tasks, so a job that runs for a minute does not hold a worker thread for a minute.
"""

import dataclasses
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from generations.models import Generation, ProviderAccount, ProviderAttempt
from generations.providers import (
    AuthError,
    JobAdapter,
    ProviderError,
    ProviderOutcome,
    ProviderRequest,
    RateLimited,
    ReferenceInput,
    Unavailable,
    build_adapter,
)
from generations.providers.calls import CALL_LOOP, CallAdapter, call_outcomes
from generations.runtime import dispatch
from generations.runtime.db import after_commit, db_release
from generations.runtime.leases import lease_hold, lease_release
from generations.security.credentials import CredentialUnreadable
from generations.security.signed_links import reference_link
from generations.services.images import storage_read
from generations.services.lifecycle import (
    generation_finish,
    generation_lease_renew,
    generation_start,
)
from generations.services.outputs import (
    AttemptResult,
    OutcomeConsumer,
    attempt_record,
    outcomes_consume,
)
from generations.services.poll_schedule import first_poll_delay_s, typical_job
from generations.services.provider_accounts import provider_account_record_outcome
from generations.services.recovery import generation_recover
from generations.services.routing import account_config, accounts_for_model

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
    generation = generation_start(generation_id=generation_id)
    if generation is None:
        # Not queued: it ended, another worker runs it, or this is a redelivered task of a run
        # lost with its worker, which recovery takes up once the lease has lapsed.
        generation_recover(generation_id=generation_id)
        return
    # generation_start sets both times to now on a first start; a requeued generation (its run
    # was lost before a call) kept its first start and may have tried accounts already.
    first_run = generation.started_at == generation.updated_at
    try:
        generation_route(
            generation,
            request=provider_request(generation),
            tried=[] if first_run else None,
            nothing_stored=first_run,
        )
    except (OperationalError, InterfaceError):
        raise  # the database is out of reach: the task retries; failing here would fail too
    except Exception:
        generation_fail_internal(generation)


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


def generation_route(
    generation: Generation,
    *,
    request: ProviderRequest,
    last_error: ProviderError | None = None,
    tried: list[int] | None = None,
    nothing_stored: bool = False,
) -> None:
    """Call accounts in order until one delivers, a failure is final, or the tries run out.

    ``tried``: the accounts already called for this generation (read from its attempts when
    not given). ``nothing_stored``: the generation has no image yet (its first run; a failover
    within the run keeps it so, since only an attempt that stored nothing fails over)."""
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
        elif isinstance(adapter, CallAdapter) and CALL_LOOP.running():
            # On the worker's event loop: this thread is free as soon as the call is sent.
            _call_on_loop(
                generation,
                attempt=attempt,
                adapter=adapter,
                request=request,
                started=started,
                tried=tried,
                nothing_stored=nothing_stored,
            )
            return
        else:
            result = outcomes_consume(
                generation=generation,
                attempt=attempt,
                outcomes=adapter.generate(request),
                started=started,
                nothing_stored=nothing_stored,
            )
        if attempt_conclude(generation, attempt=attempt, result=result):
            return
        last_error = result.error


def _call_on_loop(
    generation: Generation,
    *,
    attempt: ProviderAttempt,
    adapter: CallAdapter,
    request: ProviderRequest,
    started: float,
    tried: list[int],
    nothing_stored: bool,
) -> None:
    """Run one provider call on the worker's event loop, holding no thread while the provider
    works: each outcome is stored as it arrives by a finisher thread (one call's outcomes in
    order), and the last step concludes the attempt, failing over to the next account as a
    thread-held call would. The generation's lease is renewed throughout; a worker lost midway
    leaves a lapsing lease, and recovery fails the open call (``worker_lost``)."""
    generation_id = str(generation.id)
    consumer = OutcomeConsumer(
        generation=generation, attempt=attempt, started=started, nothing_stored=nothing_stored
    )
    lane = _Lane(_finishers())

    def take(outcome: ProviderOutcome) -> None:
        try:
            consumer.take(outcome)
        finally:
            db_release()

    def conclude(error: BaseException | None) -> None:
        try:
            if isinstance(error, ProviderError):
                consumer.fail(error)
            elif error is not None:
                raise error
            result = consumer.finish()
            if not attempt_conclude(generation, attempt=attempt, result=result):
                generation_route(
                    generation,
                    request=request,
                    last_error=result.error,
                    tried=tried,
                    nothing_stored=nothing_stored,
                )
        except (OperationalError, InterfaceError):
            # The database is out of reach: the lease lapses and recovery takes the run up.
            logger.warning("generation %s: the call ended with the database away", generation_id)
        except Exception:
            generation_fail_internal(generation)
        finally:
            lease_release(generation_id)
            db_release()

    async def call() -> None:
        error: BaseException | None = None
        try:
            async for outcome in call_outcomes(adapter, request):
                lane.submit(take, outcome)
        except Exception as failure:
            error = failure
        lane.submit(conclude, error)

    lease_hold(generation_id)
    CALL_LOOP.submit(call())


class _Lane:
    """Runs the functions given to it one after another on a shared pool, holding a pool
    thread only while there is one to run."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._pending: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._lock = threading.Lock()
        self._busy = False

    def submit(self, function: Callable[..., None], *args: Any) -> None:
        with self._lock:
            self._pending.append((function, args))
            if self._busy:
                return
            self._busy = True
        self._pool.submit(self._drain)

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._busy = False
                    return
                function, args = self._pending.popleft()
            try:
                function(*args)
            except Exception:
                logger.exception("a provider call's finishing step failed")


_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _finishers() -> ThreadPoolExecutor:
    """This process's finisher threads (a forked child makes its own)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (
                os.getpid(),
                ThreadPoolExecutor(
                    max_workers=settings.PROVIDER_FINISHER_THREADS,
                    thread_name_prefix="provider-finish",
                ),
            )
        return _pool[1]


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
    poll_schedule(generation, attempt=attempt, poll=0, typical_s=typical_s, countdown=countdown)
    return None


def poll_schedule(
    generation: Generation,
    *,
    attempt: ProviderAttempt,
    poll: int,
    typical_s: float | None,
    countdown: float,
) -> None:
    """Send the job's next poll (after commit) and hold the lease until it is due; a poll the
    broker loses lets the lease lapse, and recovery sends it again."""
    generation_lease_renew(generation_id=str(generation.id), extra_s=countdown)
    after_commit(
        dispatch.task_send,
        dispatch.POLL_TASK,
        kwargs={
            "generation_id": str(generation.id),
            "attempt_id": attempt.pk,
            "poll": poll,
            "typical_job_s": typical_s,
        },
        countdown=countdown,
    )


def provider_request(generation: Generation) -> ProviderRequest:
    params = generation.params
    # Each reference goes with its bytes and a signed link to them: the adapter delivers it
    # the way its provider documents (inline, through the provider's upload, or by URL).
    references = tuple(
        ReferenceInput(
            content=storage_read(str(reference.file.name)),
            url=None,
            mime=f"image/{reference.format}",
            link=reference_link(reference),
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
