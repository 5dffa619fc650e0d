"""Handing work to the broker: the one place services send a task, and the generations outbox.

Services name a task and its keyword arguments; they never import ``generations.tasks`` (which
imports the services), so the two stay one-way: tasks -> services -> dispatch.

The outbox: a generation is accepted with ``dispatched_at`` empty, in the transaction that
holds its credits. After the commit its run task is published and ``dispatched_at`` set. When
the broker does not take it (down, unreachable, full), the request still answers as accepted:
the generation waits in QUEUED ("waiting for a worker") and ``generations_dispatch_pending``
sends it again until the broker takes it, from a retry loop in the process that accepted it
and from every worker's housekeeping thread (``generations.tasks.worker``). Publishing twice is
harmless: a run is claimed by one conditional UPDATE, so a second copy finds nothing to do.
"""

import logging
import threading
import time
from datetime import timedelta
from typing import Any

import redis
from celery import current_app
from django.utils import timezone
from kombu.exceptions import KombuError

from generations.models import Generation
from generations.runtime.db import db_release

logger = logging.getLogger(__name__)

RUN_TASK = "generations.run_generation"
POLL_TASK = "generations.poll_generation"
CANCEL_AT_PROVIDER_TASK = "generations.cancel_at_provider"
DELIVER_WEBHOOK_TASK = "generations.deliver_webhook"
DELIVER_BUDGET_ALERT_TASK = "generations.deliver_budget_alert"

# What a broker that is down, unreachable or refusing raises through Celery's publish.
BROKER_ERRORS = (KombuError, OSError, redis.RedisError)
# One quick retry, then give up: the request must not hang on a dead broker; the outbox
# sends the task again later.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# A generation accepted this long ago and still not sent is the sweep's (younger ones are
# still being sent by the request that accepted them).
PENDING_AFTER = timedelta(seconds=2)
PENDING_BATCH = 500
# The accepting process's retry loop: first after this many seconds, doubling up to the max.
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 15.0


def task_send(name: str, *, kwargs: dict[str, Any], countdown: float | None = None) -> bool:
    """Publish one task by name; False (and logged) when the broker did not take it."""
    task = current_app.tasks[name]
    try:
        task.apply_async(kwargs=kwargs, countdown=countdown, retry_policy=PUBLISH_RETRY_POLICY)
    except BROKER_ERRORS as error:
        logger.warning("the broker did not take %s (%s): %s", name, kwargs, error)
        return False
    return True


def generation_dispatch(*, generation_id: str) -> bool:
    """Send a generation's run task and record that the broker took it (call after commit).

    On failure the generation stays "to dispatch" and this process's retry loop starts.
    """
    if not task_send(RUN_TASK, kwargs={"generation_id": generation_id}):
        _retry_loop_start()
        return False
    Generation.objects.filter(id=generation_id, dispatched_at__isnull=True).update(
        dispatched_at=timezone.now()
    )
    return True


def generations_dispatch_pending() -> dict[str, int]:
    """Send every accepted generation the broker has not taken yet; stops at the first refusal
    (the broker is still away) and says how many were sent and how many still wait."""
    cutoff = timezone.now() - PENDING_AFTER
    pending = list(
        Generation.objects.filter(
            status=Generation.Status.QUEUED, dispatched_at__isnull=True, created_at__lt=cutoff
        )
        .order_by("created_at")
        .values_list("id", flat=True)[:PENDING_BATCH]
    )
    sent = 0
    for generation_id in pending:
        if not task_send(RUN_TASK, kwargs={"generation_id": str(generation_id)}):
            break
        Generation.objects.filter(id=generation_id, dispatched_at__isnull=True).update(
            dispatched_at=timezone.now()
        )
        sent += 1
    if sent:
        logger.info("outbox: %s accepted generations sent to the broker", sent)
    return {"sent": sent, "waiting": len(pending) - sent}


_retry_lock = threading.Lock()
_retry_thread: threading.Thread | None = None


def _retry_loop_start() -> None:
    """One daemon thread per process sends what waits until nothing does."""
    global _retry_thread
    with _retry_lock:
        if _retry_thread is not None and _retry_thread.is_alive():
            return
        _retry_thread = threading.Thread(target=_retry_loop, name="generation-outbox", daemon=True)
        _retry_thread.start()


def _retry_loop() -> None:
    delay = RETRY_FIRST_S
    while True:
        time.sleep(delay)
        try:
            result = generations_dispatch_pending()
        except Exception:  # the database in passing: try again later
            logger.warning("outbox: could not read the generations to send", exc_info=True)
            result = {"sent": 0, "waiting": 1}
        finally:
            db_release()
        if not result["waiting"] and not _younger_pending():
            return
        delay = RETRY_FIRST_S if result["sent"] else min(delay * 2, RETRY_MAX_S)


def _younger_pending() -> bool:
    """Whether a generation too young for the sweep is still unsent (its first try failed)."""
    return Generation.objects.filter(
        status=Generation.Status.QUEUED, dispatched_at__isnull=True
    ).exists()
