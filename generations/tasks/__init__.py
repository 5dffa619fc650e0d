"""Celery tasks: thin wrappers that re-fetch by id and call one service.

Services never import this module: they send tasks by name through ``generations.runtime.dispatch``.
"""

import smtplib

from celery import shared_task
from django.db import InterfaceError, OperationalError

from generations.messaging.budget_alerts import BudgetWebhookFailed, budget_alert_deliver
from generations.messaging.webhooks import webhook_deliver
from generations.models import ProviderAttempt
from generations.runtime.leases import lease_kept
from generations.services.maintenance import deleted_generation_files_remove, generations_reap
from generations.services.polling import attempt_cancel_at_provider, generation_poll
from generations.services.provider_health import provider_health_rollup
from generations.services.run import generation_run
from generations.services.uploads import uploads_remove_idle
from studio_core.log_context import bind_generation

# A database that is briefly unreachable or out of connections must not strand a generation:
# these tasks retry with back-off (each is idempotent, see the notes beside them).
DATABASE_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 12,
}


# acks_late: generation_run is idempotent (it starts only a QUEUED generation, and a redelivered
# task for a RUNNING one acts only once its lease has lapsed), so a task lost with its worker is
# safely redelivered.
@shared_task(
    name="generations.run_generation", acks_late=True, ignore_result=True, **DATABASE_RETRY
)
def run_generation_task(*, generation_id: str) -> None:
    with bind_generation(generation_id), lease_kept(generation_id):
        generation_run(generation_id=generation_id)


# acks_late: a poll only reads the provider's job and acts on an open attempt, so a redelivered
# or duplicate poll is harmless.
@shared_task(
    name="generations.poll_generation", acks_late=True, ignore_result=True, **DATABASE_RETRY
)
def poll_generation_task(
    *, generation_id: str, attempt_id: int, poll: int, typical_job_s: float | None = None
) -> None:
    with bind_generation(generation_id), lease_kept(generation_id):
        generation_poll(
            generation_id=generation_id,
            attempt_id=attempt_id,
            poll=poll,
            typical_job_s=typical_job_s,
        )


@shared_task(name="generations.cancel_at_provider", ignore_result=True)
def cancel_at_provider_task(*, attempt_id: int) -> None:
    attempt = ProviderAttempt.objects.select_related("account").filter(pk=attempt_id).first()
    if attempt is not None:
        attempt_cancel_at_provider(attempt=attempt)


# acks_late: webhooks are at-least-once by contract (receivers drop repeats by webhook-id), and
# webhook_deliver claims each try in the database first, so a redelivered task sends again only
# when the first claimant died mid-try.
# Retries are new tasks scheduled by the service with the backoff, not Celery's autoretry.
@shared_task(name="generations.deliver_webhook", acks_late=True, ignore_result=True)
def deliver_webhook_task(*, generation_id: str, event: str, attempt: int = 1) -> None:
    webhook_deliver(generation_id=generation_id, event=event, attempt=attempt)


# acks_late: the mail and the webhook's 2xx are each recorded once done, under the alert's row
# lock, so a redelivered task sends only what is not done yet. A refused mail or a failed webhook
# try is retried with backoff for about an hour (the webhook-id is the same on every try).
@shared_task(
    name="generations.deliver_budget_alert",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(BudgetWebhookFailed, smtplib.SMTPException, OSError, OperationalError),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=5,
)
def deliver_budget_alert_task(*, alert_id: int) -> None:
    budget_alert_deliver(alert_id=alert_id)


# Periodic (celery beat, see CELERY_BEAT_SCHEDULE). Each is safe to run twice at once: the reaper
# locks every generation it finishes, the file removal checks for live users of each file.
@shared_task(name="generations.reap", ignore_result=True)
def reap_generations_task() -> None:
    generations_reap()


@shared_task(name="generations.remove_idle_uploads", ignore_result=True)
def remove_idle_uploads_task() -> None:
    uploads_remove_idle()


@shared_task(name="generations.remove_deleted_files", ignore_result=True)
def remove_deleted_files_task() -> None:
    deleted_generation_files_remove()


# Recomputing a bucket gives the same row and a run that began earlier never overwrites a later
# one's, so overlapping runs are harmless. No retry: the next run, 5 minutes on, catches up.
@shared_task(name="generations.rollup_provider_health", ignore_result=True)
def rollup_provider_health_task() -> None:
    provider_health_rollup()
