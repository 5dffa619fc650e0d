"""Database connections around slow provider calls and async waits."""

import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from asgiref.sync import SyncToAsync, sync_to_async
from django.db import connection, transaction

P = ParamSpec("P")
R = TypeVar("R")

# Set while an async view serves a request of a sync (WSGI) server, the test client's included.
_on_request_thread: ContextVar[bool] = ContextVar("on_request_thread", default=False)


def db_release() -> None:
    """Give this thread's database connection back before waiting on a provider.

    A worker holds many provider calls in flight on threads; each would otherwise keep a
    connection idle for the whole call (10-60 s) and exhaust the pool or the server's limit.
    Django reconnects (or takes a pooled connection) on the next query. Inside a transaction
    the connection is in use and is kept.
    """
    if not connection.in_atomic_block:
        connection.close()


def request_thread_release() -> None:
    """Let the thread kept for this request's sync work end before the request waits.

    Django's ASGI handler runs each request in an asgiref ``ThreadSensitiveContext``: the
    request's first sync call (a middleware's, a signal receiver's) starts a thread that is kept,
    idle or not, until the request ends, so a waiting request would hold it for its whole wait.
    Shut down here, it is started again by the request's next sync call (the response
    middleware's), if there is one. An executor a caller supplied is the caller's and is kept.
    """
    context = SyncToAsync.thread_sensitive_context.get(None)
    if context is None or getattr(context, "_executor", None) is not None:
        return
    executor = SyncToAsync.context_to_thread_executor.pop(context, None)
    if executor is not None:
        executor.shutdown(wait=False)


def off_loop(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``function`` for an async view: run in the event loop's shared thread pool (not a
    thread kept for the request, as asgiref's default gives), its connection handed back after,
    so a request awaiting something between two such calls holds neither thread nor connection.

    Within ``served_on_request_thread(True)`` it runs on the thread of the sync server that
    called the view instead: that thread is blocked on the view anyway, and its connection is
    the one the request's other queries use (under the test client, with the test's open
    transaction).
    """

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        finally:
            db_release()

    pooled = sync_to_async(functools.wraps(function)(run), thread_sensitive=False)
    on_request_thread = sync_to_async(function, thread_sensitive=True)

    @functools.wraps(function)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        if _on_request_thread.get():
            return await on_request_thread(*args, **kwargs)
        return await pooled(*args, **kwargs)

    return call


@contextlib.contextmanager
def served_on_request_thread(enabled: bool) -> Iterator[None]:
    """Within, ``off_loop`` runs functions on the calling sync server's thread (``enabled``)."""
    token = _on_request_thread.set(enabled)
    try:
        yield
    finally:
        # A stream closed by the garbage collector ends in another context, where the token
        # does not apply (nor does the value it would undo).
        with contextlib.suppress(ValueError):
            _on_request_thread.reset(token)


def after_commit(function: Callable[..., object], /, *args: object, **kwargs: object) -> None:
    """Run ``function(*args, **kwargs)`` once the current transaction commits (at once outside
    one). Robust: a failure is logged, never raised into the caller, whose change stands."""
    call = functools.update_wrapper(functools.partial(function, *args, **kwargs), function)
    transaction.on_commit(call, robust=True)
