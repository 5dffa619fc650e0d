"""A worker process's own housekeeping: it renews the leases of the generations it is working
on, and now and then recovers lost runs and sends what the outbox still holds (run tasks, and
webhooks whose first try the broker did not take).

Provider calls answered in the response wait on the process's event loop
(``providers.calls.CALL_LOOP``), started here too; a worker shutting down waits for the calls
on it (``WORKER_SHUTDOWN_CALL_WAIT_S``) before it exits.

One daemon thread per worker process does all of it, started by Celery's signals: in the main
process for the threads and solo pools (``worker_ready``), in each child for prefork
(``worker_process_init``). The renewal is one UPDATE for all of the process's generations; a
process that dies stops renewing, and within ``GENERATION_LEASE_S`` (plus one sweep) another
worker's thread finds the lapsed leases (``generations.services.recovery``). Tests that run
tasks inline start no thread: a lease then simply lasts its first ``GENERATION_LEASE_S``.
"""

import logging
import os
import threading
import time
from collections.abc import Callable

from celery import signals
from django.conf import settings
from django.db import transaction

from generations.messaging.webhooks import webhooks_enqueue_missed
from generations.models import Generation
from generations.providers.calls import CALL_LOOP
from generations.runtime.db import db_release
from generations.runtime.dispatch import generations_dispatch_pending
from generations.runtime.leases import leases_held
from generations.services.lifecycle import lease_deadline
from generations.services.recovery import generations_recover_lost

logger = logging.getLogger(__name__)


def leases_renew() -> int:
    """Renew the leases of every running generation this process works on (one UPDATE)."""
    working = leases_held()
    if not working:
        return 0
    with transaction.atomic():
        return Generation.objects.filter(id__in=working, status=Generation.Status.RUNNING).update(
            lease_expires_at=lease_deadline()
        )


def housekeeping_round(*, sweep: bool) -> None:
    """One round: renew this process's leases; with ``sweep``, recover lost runs and send the
    outbox. Each part is tried on its own, so a failure of one does not skip the others."""
    steps: list[Callable[[], object]] = [leases_renew]
    if sweep:
        steps += [generations_recover_lost, generations_dispatch_pending, webhooks_enqueue_missed]
    for step in steps:
        try:
            step()
        except Exception:  # the database or broker in passing: the next round tries again
            logger.warning("worker housekeeping: %s failed", step.__name__, exc_info=True)
        finally:
            db_release()


_started_in: int | None = None


def housekeeping_start(*, sweep: bool) -> None:
    """Start this process's housekeeping thread and its provider-call loop (once per process)."""
    global _started_in
    if _started_in == os.getpid():
        return
    _started_in = os.getpid()
    if settings.PROVIDER_CALLS_ON_LOOP:
        CALL_LOOP.start()
    threading.Thread(
        target=_housekeeping_loop, kwargs={"sweep": sweep}, name="generation-leases", daemon=True
    ).start()


def _housekeeping_loop(*, sweep: bool) -> None:
    renew_every = settings.WORKER_HEARTBEAT_S
    sweep_every = settings.RECOVERY_SWEEP_S
    next_sweep = time.monotonic() if sweep else float("inf")
    while True:
        due = time.monotonic() >= next_sweep
        housekeeping_round(sweep=due)
        if due:
            next_sweep = time.monotonic() + sweep_every
        time.sleep(min(renew_every, max(0.0, next_sweep - time.monotonic())))


@signals.worker_ready.connect
def _on_worker_ready(**_kwargs: object) -> None:
    # The main process: it runs the tasks itself under the threads and solo pools; under
    # prefork it only sweeps (its children renew their own leases).
    housekeeping_start(sweep=True)


@signals.worker_process_init.connect
def _on_worker_child(**_kwargs: object) -> None:
    housekeeping_start(sweep=False)


@signals.worker_shutting_down.connect
def _on_worker_shutting_down(**_kwargs: object) -> None:
    # Calls on the loop are not tasks Celery waits for: give them their time to end, so a
    # restart does not cut off images a provider is about to deliver (and bill).
    deadline = time.monotonic() + settings.WORKER_SHUTDOWN_CALL_WAIT_S
    while CALL_LOOP.in_flight() and time.monotonic() < deadline:
        time.sleep(0.2)
