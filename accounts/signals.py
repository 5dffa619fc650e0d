"""Django's and django-allauth's authentication signals, turned into calls to the users,
login-throttle and two-factor services.

Signals because neither reports a failed login, a wrong two-factor code or an authenticator
change any other way (every login form, the admin's included, goes through ``authenticate``);
the rules themselves live in the services.
"""

from typing import Any

from allauth.mfa import signals as mfa_signals
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from studio_core.client_ip import client_ip

from .services.login_throttle import login_failure_record
from .services.two_factor import mfa_change_record
from .services.users import user_login_failed_record


@receiver(user_login_failed, dispatch_uid="accounts.audit_staff_login_failed")
def audit_staff_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django has already replaced the password in ``credentials`` with stars; only the username
    # is read here anyway.
    user_login_failed_record(
        username=str(credentials.get("username") or ""),
        ip_address=client_ip(request) if request is not None else None,
        path=request.path if request is not None else "",
    )


@receiver(user_login_failed, dispatch_uid="accounts.count_login_failure")
def count_login_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # The sign-in form sends the name typed as "username" or, when it holds an @, "email".
    login = credentials.get("username") or credentials.get("email") or ""
    login_failure_record(
        login=str(login),
        ip_address=client_ip(request) if request is not None else None,
    )


@receiver(mfa_signals.authentication_failed, dispatch_uid="accounts.count_mfa_failure")
def count_mfa_failure(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # A wrong code after the right password is a failed sign-in of that account: guessing at
    # six digits is stopped by the same lock as guessing at passwords.
    login_failure_record(
        login=user.get_username(),
        ip_address=client_ip(request) if request is not None else None,
    )


def _audit_mfa_change(change: str) -> Any:
    def audit(
        sender: Any, request: HttpRequest | None, user: Any, authenticator: Any, **kwargs: Any
    ) -> None:
        mfa_change_record(
            user=user,
            change=change,
            authenticator_type=str(authenticator.type),
            ip_address=client_ip(request) if request is not None else None,
        )

    return audit


for _change, _signal in (
    ("added", mfa_signals.authenticator_added),
    ("removed", mfa_signals.authenticator_removed),
    ("reset", mfa_signals.authenticator_reset),
):
    _signal.connect(_audit_mfa_change(_change), weak=False, dispatch_uid=f"accounts.mfa_{_change}")
