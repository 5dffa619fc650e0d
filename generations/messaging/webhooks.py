"""Webhooks: tell a client's server when its generation reaches a terminal state.

Deliveries follow Standard Webhooks (https://www.standardwebhooks.com): headers ``webhook-id``
(the same for every try of one event, so receivers drop repeats), ``webhook-timestamp`` (unix
seconds of this try) and ``webhook-signature: v1,<base64 HMAC-SHA256>`` over
``"{id}.{timestamp}.{body}"``, keyed by the owner's ``whsec_`` secret (accounts.services.
webhook_secret). Receivers can verify with that spec's libraries.

Delivery is at least once: each try is recorded as a ``WebhookDelivery``; a non-2xx answer or a
transport failure is retried after ``RETRY_DELAYS_S`` (at most ``MAX_ATTEMPTS`` tries). URLs
go only to public addresses (``generations.security.fetching``), vetted when set and again on
every try, and redirects are never followed. Nothing here ever raises into the generation path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.services.webhook_secret import SECRET_PREFIX, webhook_secret_for
from generations.catalog import SpecError
from generations.models import Generation, WebhookDelivery
from generations.runtime import dispatch
from generations.security.fetching import FetchFailed, FetchRefused, url_vet, webhook_post
from generations.security.signed_links import absolute_url, output_url

__all__ = [
    "EVENTS",
    "MAX_ATTEMPTS",
    "RETRY_DELAYS_S",
    "webhook_deliver",
    "webhook_enqueue",
    "webhook_payload",
    "webhook_sign",
]

logger = logging.getLogger(__name__)

# The terminal statuses a webhook can be sent for; the event type is "generation.<status>".
EVENTS = tuple(str(status) for status in Generation.TERMINAL_STATUSES)
# Delay after try n before try n+1: quick for a blip, then spread over about 2.5 hours.
RETRY_DELAYS_S = (10, 60, 300, 1800, 7200)
MAX_ATTEMPTS = len(RETRY_DELAYS_S) + 1
EXCERPT_CHARS = 500
# A claimed try with no outcome after this long lost its worker (the POST times out in ~15 s).
STALE_CLAIM = timedelta(minutes=5)
USER_AGENT = "seedream-studio-webhooks/1"


# --- setting up -------------------------------------------------------------------------------


def webhook_validate(*, url: str, events: Sequence[str] | None = None) -> list[str]:
    """Check a webhook URL and event filter before anything is charged; returns the events.

    Raises ``SpecError`` naming ``webhook_url`` or ``webhook_events``.
    """
    chosen = list(EVENTS) if events is None else list(dict.fromkeys(events))
    unknown = [event for event in chosen if event not in EVENTS]
    if unknown:
        raise SpecError(
            {
                "webhook_events": [
                    f"Unknown event {', '.join(map(repr, unknown))}; "
                    f"choose from {', '.join(EVENTS)}."
                ]
            }
        )
    if url.strip():
        try:
            url_vet(url.strip())
        except FetchRefused as error:
            raise SpecError({"webhook_url": [str(error)]}) from error
    return chosen


def webhook_enqueue(generation: Generation) -> None:
    """Queue the first try for a terminal generation whose event its filter wants.

    Called from ``transaction.on_commit`` after the terminal transition; swallows (and logs)
    any failure to queue, because a webhook must never break the generation path.
    """
    event = str(generation.status)
    if not generation.webhook_url or not generation.is_terminal:
        return
    if event not in (generation.webhook_events or []):
        return
    dispatch.task_send(
        dispatch.DELIVER_WEBHOOK_TASK,
        kwargs={"generation_id": str(generation.pk), "event": event, "attempt": 1},
    )


# A first try not recorded this long after the end was never queued (the broker was away).
MISSED_AFTER = timedelta(seconds=60)
# Older ends are not sent any more: the receiver has long given up on them.
MISSED_WITHIN = timedelta(days=1)


def webhooks_enqueue_missed() -> int:
    """Queue the first try of every recent end whose webhook was never queued; returns how
    many. Run by the workers' housekeeping, so a broker outage at the end of a generation
    delays its webhook but never loses it (a duplicate try is dropped by its unique claim)."""
    now = timezone.now()
    missed = (
        Generation.objects.filter(
            status__in=Generation.TERMINAL_STATUSES,
            finished_at__range=(now - MISSED_WITHIN, now - MISSED_AFTER),
        )
        .exclude(webhook_url="")
        .exclude(webhook_deliveries__isnull=False)
        .only("id", "status", "webhook_url", "webhook_events")
    )
    queued = 0
    for generation in missed:
        if str(generation.status) in (generation.webhook_events or []):
            webhook_enqueue(generation)
            queued += 1
    return queued


# --- building and signing ---------------------------------------------------------------------


def webhook_payload(generation: Generation) -> dict[str, Any]:
    """The body of a delivery: the event type and a summary with fresh signed image links."""
    error = (
        {"code": generation.error_code, "message": generation.error_message}
        if generation.error_code
        else None
    )
    finished = generation.finished_at or timezone.now()
    return {
        "type": f"generation.{generation.status}",
        "timestamp": finished.isoformat(),
        "data": {
            "id": str(generation.pk),
            "status": generation.status,
            "model": generation.model,
            "outputs": [
                {
                    "index": output.index,
                    "width": output.width,
                    "height": output.height,
                    # Sent by a worker, answering no request: on PUBLIC_BASE_URL.
                    "url": absolute_url(output_url(output), request=None),
                }
                for output in generation.outputs.all()
            ],
            "credits_charged": generation.credits_charged,
            "error": error,
        },
    }


def webhook_sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` + base64 HMAC-SHA256 of id.timestamp.body."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def _message_id(generation: Generation, event: str) -> str:
    # Deterministic, so every try of one event (and a re-queued first try) shares it.
    return f"msg_{generation.pk.hex}_{event}"


# --- delivering -------------------------------------------------------------------------------


def webhook_deliver(*, generation_id: str, event: str, attempt: int) -> WebhookDelivery | None:
    """Make try number ``attempt`` of one event, record it, and schedule the next if needed.

    Idempotent per (generation, event, attempt): the try is claimed by inserting its row
    before sending, so a task delivered twice (acks_late, or a broker re-sending a long
    countdown) sends once. Returns None when there is nothing (more) to send.
    """
    generation = (
        Generation.objects.select_related("owner")
        .prefetch_related("outputs")
        .filter(pk=generation_id)
        .first()
    )
    if generation is None or not generation.webhook_url:
        return None
    if WebhookDelivery.objects.filter(
        generation=generation, event=_event_type(event), delivered=True
    ).exists():
        return None
    delivery = _claim(generation, event, attempt)
    if delivery is None:
        return None
    _send(generation, delivery)
    if delivery.next_attempt_at is not None:
        dispatch.task_send(
            dispatch.DELIVER_WEBHOOK_TASK,
            kwargs={"generation_id": str(generation.pk), "event": event, "attempt": attempt + 1},
            countdown=RETRY_DELAYS_S[attempt - 1],
        )
    return delivery


def _event_type(event: str) -> str:
    return f"generation.{event}"


def _claim(generation: Generation, event: str, attempt: int) -> WebhookDelivery | None:
    """Insert this try's row (duration_ms empty: in flight), or take over an abandoned one."""
    fields = {"generation": generation, "event": _event_type(event), "attempt": attempt}
    try:
        with transaction.atomic():
            return WebhookDelivery.objects.create(
                **fields,
                message_id=_message_id(generation, event),
                url=generation.webhook_url,
            )
    except IntegrityError:
        pass
    now = timezone.now()
    taken = WebhookDelivery.objects.filter(
        **fields, duration_ms__isnull=True, created_at__lt=now - STALE_CLAIM
    ).update(created_at=now, url=generation.webhook_url)
    return WebhookDelivery.objects.get(**fields) if taken else None


def _send(generation: Generation, delivery: WebhookDelivery) -> None:
    body = json.dumps(webhook_payload(generation), separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_sign(
            secret=webhook_secret_for(user=generation.owner),
            message_id=delivery.message_id,
            timestamp=timestamp,
            body=body,
        ),
    }
    started = time.monotonic()
    retry = True
    try:
        result = webhook_post(delivery.url, body, headers)
    except FetchFailed as error:
        delivery.error = str(error)[:EXCERPT_CHARS]
    except FetchRefused as error:
        # The URL (or what its name resolves to now) is not allowed: no try will be.
        delivery.error = str(error)[:EXCERPT_CHARS]
        retry = False
    except Exception as error:
        # Whatever else breaks is recorded and retried, never raised into the worker loop.
        logger.exception("Webhook delivery %s failed unexpectedly", delivery.pk)
        delivery.error = f"internal error: {type(error).__name__}"[:EXCERPT_CHARS]
    else:
        delivery.status_code = result.status_code
        delivery.response_excerpt = result.body_excerpt[:EXCERPT_CHARS]
        delivery.delivered = 200 <= result.status_code < 300
        if not delivery.delivered:
            delivery.error = f"The receiver answered HTTP {result.status_code}."
    delivery.duration_ms = max(0, round((time.monotonic() - started) * 1000))
    if retry and not delivery.delivered and delivery.attempt < MAX_ATTEMPTS:
        delivery.next_attempt_at = timezone.now() + timedelta(
            seconds=RETRY_DELAYS_S[delivery.attempt - 1]
        )
    delivery.save(
        update_fields=[
            "status_code",
            "response_excerpt",
            "error",
            "duration_ms",
            "delivered",
            "next_attempt_at",
        ]
    )
