"""Checks of what every process depends on: the database, the broker and the media storage.

Each check raises when its service cannot do its job and returns nothing otherwise;
``run_checks`` times each one and turns an exception into a failed result, so one service
down never hides the state of the others.
"""

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection

from seedream_site.celery import app as celery_app


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    latency_ms: float
    error: str = ""
    error_type: str = ""


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    # Counting the default queue proves more than a connection: Redis answers commands, or the
    # filesystem transport's folder exists and can be listed.
    queue_depth()


def check_storage() -> None:
    storage = default_storage
    bucket_name = getattr(storage, "bucket_name", None)
    if bucket_name:
        # S3Storage: HEAD on the bucket fails when it is missing or the credentials may not use
        # it; a HEAD on some object would answer "absent" for a missing bucket just the same.
        storage.connection.meta.client.head_bucket(Bucket=bucket_name)  # type: ignore[attr-defined]
        return
    location = Path(storage.location)  # type: ignore[attr-defined]
    # FileSystemStorage makes its folder on the first save; a fresh installation is healthy.
    location.mkdir(parents=True, exist_ok=True)
    if not os.access(location, os.W_OK):
        raise PermissionError(f"The media folder {location} is not writable.")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
}


def run_checks() -> dict[str, CheckResult]:
    results = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
        except Exception as error:  # any failure means the service is not usable
            results[name] = CheckResult(
                ok=False,
                latency_ms=_elapsed_ms(started),
                error=str(error)[:500],
                error_type=type(error).__name__,
            )
        else:
            results[name] = CheckResult(ok=True, latency_ms=_elapsed_ms(started))
    return results


def queue_depth(queue: str | None = None) -> int:
    """Messages waiting in ``queue`` (the default queue): Redis list lengths across the
    transport's priority lists, or the filesystem transport's message files."""
    queue = queue or celery_app.conf.task_default_queue
    with celery_app.connection_for_read() as broker:
        broker.ensure_connection(
            max_retries=1, interval_start=0, timeout=settings.HEALTH_CHECK_TIMEOUT_S
        )
        # Declaring the queue is what every worker and producer does already; unlike a passive
        # declare it does not fail for an empty Redis queue (which has no key).
        return broker.default_channel.queue_declare(queue=queue).message_count


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 2)
