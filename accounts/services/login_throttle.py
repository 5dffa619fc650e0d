"""Failed sign-ins counted per account and per client address, in the shared cache.

Every login form (the workspace's; the admin's hands its sign-in to it; the single sign-on
callback, by address) asks ``login_lockout_remaining`` before checking a password, and every
failed check is counted by ``login_failure_record`` (from Django's ``user_login_failed``
signal, which the password forms send, and from the single sign-on adapter for a failed or
refused callback).
The ``LOGIN_FAILURES_PER_ACCOUNT``-th failure for one account, or the
``LOGIN_FAILURES_PER_IP``-th from one address, locks it for ``LOGIN_LOCKOUT_MINUTES``: its
sign-ins are refused, even with the right password, until the time has passed. Only failures
count, and each account has its own: other accounts sign in meanwhile, from the same address
too until that address's own (higher) limit.

The counters live in the cache (``CACHE_URL``), shared by every web process; an account is
named by its user id when the name tried is a username or address we know, so "ana" and
"ana@example.com" count together.
"""

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from ..models import User
from .audit import audit_record

logger = logging.getLogger(__name__)
LOCKED_ACTION = "user.login_locked"
_PREFIX = "login-throttle"


def _account_key(login: str) -> tuple[str, User | None]:
    name = login.strip().lower()
    user = (
        User.objects.filter(Q(username__iexact=name) | Q(email__iexact=name)).order_by("pk").first()
        if name
        else None
    )
    if user is not None:
        return f"user:{user.pk}", user
    # An unknown name is counted too (guessing at names is guessing); hashed to a fixed length.
    return "name:" + hashlib.sha256(name.encode()).hexdigest()[:32], None


def _keys(*, login: str | None, ip_address: str | None) -> list[tuple[str, int]]:
    keys = []
    if login is not None:
        account, _ = _account_key(login)
        keys.append((f"{_PREFIX}:{account}", settings.LOGIN_FAILURES_PER_ACCOUNT))
    if ip_address:
        keys.append((f"{_PREFIX}:ip:{ip_address}", settings.LOGIN_FAILURES_PER_IP))
    return keys


def login_lockout_remaining(*, login: str | None, ip_address: str | None) -> int:
    """Seconds until ``login`` may be tried again from ``ip_address``; 0 when it may now.
    ``login`` None (a single sign-on callback, whose account is not known yet): the address
    alone."""
    locks = cache.get_many([f"{key}:until" for key, _ in _keys(login=login, ip_address=ip_address)])
    until = max(locks.values(), default=0.0)
    return max(0, math.ceil(until - time.time()))


def login_failure_record(*, login: str | None, ip_address: str | None) -> None:
    """Count one failed sign-in; the failure that reaches a limit locks and is audited.
    ``login`` None: a failure that names no account (a single sign-on callback that failed
    before the identity provider said who it was), counted against the address only: counted
    against one shared name, anyone could lock single sign-on for everyone."""
    window_s = settings.LOGIN_LOCKOUT_MINUTES * 60
    for key, limit in _keys(login=login, ip_address=ip_address):
        cache.add(key, 0, timeout=window_s)  # the window starts at the first failure
        try:
            failures = cache.incr(key)
        except ValueError:  # expired between add and incr: this failure starts a new window
            cache.set(key, 1, timeout=window_s)
            failures = 1
        if failures == limit:
            cache.set(f"{key}:until", time.time() + window_s, timeout=window_s)
            cache.delete(key)  # a new count starts once the lock ends
            _audit_lock(login=login, ip_address=ip_address, by_address=":ip:" in key)


def _audit_lock(*, login: str | None, ip_address: str | None, by_address: bool) -> None:
    _, user = _account_key(login) if login is not None else ("", None)
    what = {
        "locked": "address" if by_address else "account",
        "login": (login or "")[:150],
        "minutes": settings.LOGIN_LOCKOUT_MINUTES,
    }
    if user is None:
        # The audit trail is about accounts; a name nobody has goes to the log.
        logger.warning("Sign-in locked after repeated failures: %s from %s", what, ip_address)
        return
    audit_record(actor=None, action=LOCKED_ACTION, target=user, after=what, ip_address=ip_address)
