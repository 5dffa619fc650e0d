"""Budget alerts leave the platform here: the mail (``accounts.services.budget_alerts``) and a
signed ``budget.threshold`` event to the team's webhook endpoint, when it has one.

The event follows Standard Webhooks like generation events do (``webhooks.webhook_sign``):
``webhook-id`` is ``msg_budget_alert_<alert id>`` on every try, so a receiver drops repeats; it
is signed with the team's own ``whsec_`` secret (``Team.webhook_secret``, made on first need).
The URL is vetted on every try (``webhook_post``: public addresses only, no redirect).

Sent once per alert: a 2xx answer is recorded in the audit trail (``budget.webhook_delivered``,
on the alert) under a lock on the alert's row, held across the POST (at most the webhook
timeout), so a redelivered or duplicate task finds it done. A transport failure or another
answer raises ``BudgetWebhookFailed`` for the task to retry with backoff; a URL that is not
allowed is logged and not tried again. A team's budget, a member's and a key bound to the team
post to the team's endpoint; a personal budget has none.
"""

import json
import logging
import time
from typing import Any

from django.db import transaction

from accounts.models import Budget, BudgetAlert, Team
from accounts.services.audit import audit_record
from accounts.services.budget_alerts import (
    BudgetAlertNotice,
    budget_alert_done,
    budget_alert_mail,
    budget_alert_notice,
)
from accounts.services.budgets import budget_label
from accounts.services.webhook_secret import team_webhook_secret_for
from generations.messaging.webhooks import USER_AGENT, webhook_sign
from generations.runtime import dispatch
from generations.security.fetching import FetchFailed, FetchRefused, webhook_post

logger = logging.getLogger(__name__)

EVENT = "budget.threshold"
DELIVERED = "budget.webhook_delivered"
EXCERPT_CHARS = 500


class BudgetWebhookFailed(Exception):
    """A try that did not reach the receiver or got no 2xx; a later try may succeed."""


def budget_alert_enqueue(*, alert_id: int) -> None:
    """Queue the alert's delivery (call after the commit that recorded it)."""
    dispatch.task_send(dispatch.DELIVER_BUDGET_ALERT_TASK, kwargs={"alert_id": alert_id})


def budget_alert_deliver(*, alert_id: int) -> None:
    """Mail the alert and post its webhook event, each once. Both are tried; the first
    failure is raised afterwards, and the retry sends only what is not done yet."""
    failures: list[Exception] = []
    for send in (budget_alert_mail, budget_alert_webhook_send):
        try:
            send(alert_id=alert_id)
        except Exception as error:
            failures.append(error)
    if failures:
        raise failures[0]


def budget_alert_payload(notice: BudgetAlertNotice, team: Team) -> dict[str, Any]:
    budget = notice.budget
    return {
        "type": EVENT,
        "timestamp": notice.alert.created_at.isoformat(),
        "data": {
            "alert_id": notice.alert.pk,
            "team": team.slug,
            "budget": {
                "id": budget.pk,
                "scope": budget.scope,
                "label": budget_label(budget),
                "period": budget.period,
                "limit": budget.limit,
            },
            "member": budget.user.get_username() if budget.user is not None else None,
            "api_key": budget.api_key.prefix if budget.api_key is not None else None,
            "threshold": notice.threshold,
            "spent": notice.spent,
            "period_start": notice.bounds.start.isoformat(),
            "resets_on": notice.bounds.end.isoformat() if notice.bounds.end else None,
            "message": notice.sentence,
        },
    }


def budget_alert_message_id(alert: BudgetAlert) -> str:
    return f"msg_budget_alert_{alert.pk}"


def budget_alert_webhook_send(*, alert_id: int) -> bool:
    """Post the alert's event to its team's endpoint, once: True when this call delivered it."""
    with transaction.atomic():
        alert = (
            BudgetAlert.objects.select_for_update(of=("self",))
            .select_related(
                "spend__budget__team",
                "spend__budget__user",
                "spend__budget__api_key__team",
            )
            .filter(pk=alert_id)
            .first()
        )
        if alert is None:
            return False
        team = _team_of(alert.spend.budget)
        if team is None or not team.webhook_url or _delivered(alert):
            return False
        body = json.dumps(
            budget_alert_payload(budget_alert_notice(alert=alert), team), separators=(",", ":")
        ).encode()
        message_id = budget_alert_message_id(alert)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": webhook_sign(
                secret=team_webhook_secret_for(team=team),
                message_id=message_id,
                timestamp=timestamp,
                body=body,
            ),
        }
        try:
            result = webhook_post(team.webhook_url, body, headers)
        except FetchFailed as error:
            raise BudgetWebhookFailed(str(error)[:EXCERPT_CHARS]) from error
        except FetchRefused as error:
            # The URL (or what its name resolves to now) is not allowed: no try will be.
            logger.warning("budget alert %s: webhook of team %s refused: %s", alert.pk, team, error)
            return False
        if not 200 <= result.status_code < 300:
            raise BudgetWebhookFailed(f"The receiver answered HTTP {result.status_code}.")
        audit_record(
            actor=None,
            action=DELIVERED,
            target=alert,
            after={"team": team.slug, "message_id": message_id, "status": result.status_code},
        )
    return True


def _team_of(budget: Budget) -> Team | None:
    if budget.team is not None:
        return budget.team
    if budget.api_key is not None:
        return budget.api_key.team
    return None


def _delivered(alert: BudgetAlert) -> bool:
    return budget_alert_done(alert=alert, action=DELIVERED)
