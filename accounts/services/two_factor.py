"""Two-factor authentication's audit facts: an authenticator added, removed or renewed, and
the admin refused to staff who have none while ``MFA_REQUIRED_FOR_STAFF`` is on.

The authenticators themselves are django-allauth's (``allauth.mfa``): enrolment, the code asked
after the password and recovery codes are its pages; wrong codes are counted as failed sign-ins
by ``login_throttle``.
"""

from django.conf import settings

from ..models import AuditEvent, User
from ..selectors import user_has_mfa
from .audit import audit_record

ADMIN_REFUSED_ACTION = "user.admin_refused_without_mfa"
# allauth's signal -> the audit action it becomes.
CHANGE_ACTIONS = {
    "added": "user.mfa_added",
    "removed": "user.mfa_removed",
    "reset": "user.mfa_recovery_codes_renewed",
}


def mfa_change_record(
    *, user: User, change: str, authenticator_type: str, ip_address: str | None = None
) -> AuditEvent:
    """Audit a change to ``user``'s second factors, made by the user (never a secret)."""
    return audit_record(
        actor=user,
        action=CHANGE_ACTIONS[change],
        target=user,
        after={"type": authenticator_type},
        ip_address=ip_address,
    )


def staff_admin_needs_mfa(*, user: User) -> bool:
    """Whether the admin must stay closed to ``user`` until they turn two-factor on."""
    return settings.MFA_REQUIRED_FOR_STAFF and user.is_staff and not user_has_mfa(user=user)


def staff_admin_refusal_record(*, user: User, path: str, ip_address: str | None = None) -> None:
    audit_record(
        actor=user,
        action=ADMIN_REFUSED_ACTION,
        target=user,
        after={"path": path[:200]},
        ip_address=ip_address,
    )
