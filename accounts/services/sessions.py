"""Signed-in sessions: each browser's last activity noted for its owner, and every session of an
account ended at once (offboarding).

allauth's ``UserSession`` rows are the list a user sees on /sessions/ (browser, address, first
and last seen). Noting activity writes that row, so it is done at most once a minute per session
(``ACTIVITY_RESOLUTION``, remembered in the shared cache): a page that polls does not write on
every poll, and "last seen" is right to the minute.
"""

from datetime import timedelta
from importlib import import_module

from allauth.usersessions.internal.usersessionkit import track_activity
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from ..models import User
from .audit import audit_record

ACTIVITY_RESOLUTION = timedelta(minutes=1)
SESSIONS_ENDED_ACTION = "user.sessions_ended"
# Session engines that keep every session in the database table, where sessions opened before
# activity was tracked can still be found (a cache-only engine cannot be searched).
_DATABASE_ENGINES = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)


def session_activity_note(*, request: HttpRequest) -> None:
    """Note this request's browser, address and time on its session's row, once a minute."""
    session = getattr(request, "session", None)
    if session is None or not session.session_key:
        return
    if not cache.add(
        f"session-seen:{session.session_key}",
        1,
        timeout=int(ACTIVITY_RESOLUTION.total_seconds()),
    ):
        return
    track_activity(request, user=getattr(request, "user", None), session=session)


def user_sessions_end(*, user: User, actor: User | None, ip_address: str | None = None) -> int:
    """Sign ``user`` out of every browser; the number of sessions ended, audited when any was.

    The listed sessions are ended through allauth (the session and its row go together); with a
    database session engine, sessions never listed (opened before activity was tracked, or
    without a request since) are found in the table and ended too.
    """
    ended = set()
    for user_session in UserSession.objects.filter(user=user):
        ended.add(user_session.session_key)
        user_session.end()
    if settings.SESSION_ENGINE in _DATABASE_ENGINES:
        store = import_module(settings.SESSION_ENGINE).SessionStore
        for row in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
            if row.session_key in ended or row.get_decoded().get(SESSION_KEY) != str(user.pk):
                continue
            store(row.session_key).delete()
            ended.add(row.session_key)
    if ended:
        audit_record(
            actor=actor,
            action=SESSIONS_ENDED_ACTION,
            target=user,
            after={"sessions": len(ended)},
            ip_address=ip_address,
        )
    return len(ended)
