"""Webhook signing secrets: one per user (and one per team, for its budget events), made on
first need; a user rotates theirs.

The format is Standard Webhooks' ``whsec_<base64 of 32 random bytes>``, so receivers can verify
deliveries with that spec's libraries (the HMAC key is the base64-decoded part).
"""

import base64
import secrets

from django.db import transaction
from django.utils import timezone

from ..models import Team, User, WebhookSecret
from .audit import audit_record

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format marker, not a secret)
SECRET_BYTES = 32


def _new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def webhook_secret_get(*, user: User) -> str | None:
    """The user's secret if one exists; reads only (for pages: a GET must not write)."""
    return WebhookSecret.objects.filter(user=user).values_list("secret", flat=True).first()


def webhook_secret_for(*, user: User) -> str:
    """The user's current signing secret, created (without an audit event) on first need."""
    # get_or_create re-reads after an IntegrityError, so two first deliveries racing agree.
    row, _created = WebhookSecret.objects.get_or_create(
        user=user, defaults={"secret": _new_secret()}
    )
    return row.secret


def webhook_secret_rotate(*, user: User, actor: User, ip_address: str | None = None) -> str:
    """Replace (or first make) the user's secret; deliveries from now on, retries included,
    are signed with the new one."""
    with transaction.atomic():
        row, created = WebhookSecret.objects.select_for_update().get_or_create(
            user=user, defaults={"secret": _new_secret()}
        )
        if not created:
            row.secret = _new_secret()
        row.rotated_at = timezone.now()
        row.save(update_fields=["secret", "rotated_at"])
        # The secret itself never enters the audit trail.
        audit_record(
            actor=actor,
            action="webhook_secret.created" if created else "webhook_secret.rotated",
            target=row,
            after={"user": user.get_username(), "rotated_at": row.rotated_at.isoformat()},
            ip_address=ip_address,
        )
    return row.secret


def team_webhook_secret_rotate(*, team: Team, actor: User, ip_address: str | None = None) -> str:
    """Replace (or first make) the team's secret; budget events from now on, retries included,
    are signed with the new one."""
    with transaction.atomic():
        locked = Team.objects.select_for_update().get(pk=team.pk)
        created = not locked.webhook_secret
        locked.webhook_secret = _new_secret()
        locked.save(update_fields=["webhook_secret"])
        audit_record(
            actor=actor,
            action="team.webhook_secret_created" if created else "team.webhook_secret_rotated",
            target=locked,
            after={"team": locked.slug},
            ip_address=ip_address,
        )
    team.webhook_secret = locked.webhook_secret
    return locked.webhook_secret


def team_webhook_secret_for(*, team: Team) -> str:
    """The team's signing secret for its budget events, made on first need. A conditional
    UPDATE (only while empty) decides between two first deliveries racing: both read the same."""
    if team.webhook_secret:
        return team.webhook_secret
    Team.objects.filter(pk=team.pk, webhook_secret="").update(webhook_secret=_new_secret())
    team.webhook_secret = Team.objects.values_list("webhook_secret", flat=True).get(pk=team.pk)
    return team.webhook_secret
