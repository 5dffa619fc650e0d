"""Django's authentication signal, turned into calls to the users and login-throttle services.

A signal because Django reports a failed login no other way (every login form, the admin's
included, goes through ``authenticate``); the rule itself lives in the service.
"""

from typing import Any

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from studio_core.client_ip import client_ip

from .services.login_throttle import login_failure_record
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
