"""Celery tasks of accounts: thin wrappers around one service each."""

import smtplib

from celery import shared_task

from .services.allowances import allowances_grant_due
from .services.invitations import invitation_send
from .services.key_usage import api_key_usage_flush


# Periodic (celery beat, CELERY_BEAT_SCHEDULE). No retry: the next run, a minute later, writes
# whatever this one could not, and running twice at once is harmless (services/key_usage.py).
@shared_task(name="accounts.flush_key_usage", ignore_result=True)
def flush_key_usage_task() -> None:
    api_key_usage_flush()


# Periodic (celery beat, hourly). No retry: the next run grants what this one could not, and
# running twice at once, or late, still grants each allowance once per period
# (services/allowances.py).
@shared_task(name="accounts.grant_allowances", ignore_result=True)
def grant_allowances_task() -> None:
    allowances_grant_due()


# A refused or dropped SMTP connection is retried with backoff for about an hour; each attempt
# mails a fresh link (the earlier ones stop working), so a repeated delivery is harmless.
@shared_task(
    name="accounts.send_invitation",
    ignore_result=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=6,
)
def invitation_send_task(*, invitation_id: int, base_url: str) -> None:
    invitation_send(invitation_id=invitation_id, base_url=base_url)
