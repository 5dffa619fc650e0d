"""Changes to who may do what (staff, superuser, active), and failed logins of staff accounts.

Both are audit-trail facts: a flag change records who changed it for whom, before and after; a
failed staff login records the username tried and the address it came from (never the password).
Deactivating an account offboards it in the same transaction: its sessions end and its API keys
are revoked, so neither a browser nor a script of that user gets another answer.
"""

from collections.abc import Mapping

from django.db import transaction

from ..models import AuditEvent, User
from .audit import audit_record
from .keys import api_keys_revoke_for_user
from .policies import count_limit_errors
from .sessions import user_sessions_end

# Flag -> audit action written when it changes.
AUDITED_FLAGS = {
    "is_staff": "user.staff_changed",
    "is_superuser": "user.superuser_changed",
    "is_active": "user.active_changed",
}
LOGIN_FAILED_ACTION = "user.login_failed"


def user_set_flags(
    *,
    user: User,
    changes: Mapping[str, bool],
    actor: User | None,
    ip_address: str | None = None,
) -> User:
    """Set staff / superuser / active flags; one audit event per flag that actually changed."""
    unknown = set(changes) - set(AUDITED_FLAGS)
    if unknown:
        raise ValueError(f"Not a role flag: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        changed = {name: value for name, value in changes.items() if getattr(locked, name) != value}
        if not changed:
            return locked
        for name, value in changed.items():
            audit_record(
                actor=actor,
                action=AUDITED_FLAGS[name],
                target=locked,
                before={name: getattr(locked, name)},
                after={name: value},
                ip_address=ip_address,
            )
            setattr(locked, name, value)
        locked.save(update_fields=list(changed))
        if changed.get("is_active") is False:
            user_offboard(user=locked, actor=actor, ip_address=ip_address)
    for name, value in changed.items():
        setattr(user, name, value)
    return locked


def user_running_limit_set(
    *, user: User, max_running: int | None, actor: User | None, ip_address: str | None = None
) -> User:
    """How many of the user's generations may be queued or running at once (None: no limit);
    audited when it changes. Generations already running keep going."""
    errors = count_limit_errors(max_running=max_running)
    if errors:
        raise ValueError(errors["max_running"][0])
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.max_running != max_running:
            audit_record(
                actor=actor,
                action="user.running_limit_set",
                target=locked,
                before={"max_running": locked.max_running},
                after={"max_running": max_running},
                ip_address=ip_address,
            )
            locked.max_running = max_running
            locked.save(update_fields=["max_running"])
    user.max_running = max_running
    return locked


def user_offboard(*, user: User, actor: User | None, ip_address: str | None = None) -> None:
    """End every session of ``user`` and revoke all their API keys, each audited."""
    user_sessions_end(user=user, actor=actor, ip_address=ip_address)
    api_keys_revoke_for_user(user=user, actor=actor, ip_address=ip_address)


def user_login_failed_record(
    *, username: str, ip_address: str | None = None, path: str = ""
) -> AuditEvent | None:
    """Audit a failed login if ``username`` names a staff account; others are not recorded.

    Only staff accounts: they can change keys, credits and providers, so guessing at them is
    what the audit trail must show, while recording every mistyped teammate password would
    bury it.
    """
    staff = User.objects.filter(username=username, is_staff=True).first() if username else None
    if staff is None:
        return None
    return audit_record(
        actor=None,
        action=LOGIN_FAILED_ACTION,
        target=staff,
        after={"username": username[:150], "path": path[:200]},
        ip_address=ip_address,
    )
