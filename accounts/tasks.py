"""Celery tasks of accounts: thin wrappers around one service each."""

from celery import shared_task

from .services.key_usage import api_key_usage_flush


# Periodic (celery beat, CELERY_BEAT_SCHEDULE). No retry: the next run, a minute later, writes
# whatever this one could not, and running twice at once is harmless (services/key_usage.py).
@shared_task(name="accounts.flush_key_usage", ignore_result=True)
def flush_key_usage_task() -> None:
    api_key_usage_flush()
