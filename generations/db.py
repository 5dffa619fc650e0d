"""Database connections around slow provider calls and async waits."""

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import connection, transaction

P = ParamSpec("P")
R = TypeVar("R")


def db_release() -> None:
    """Give this thread's database connection back before waiting on a provider.

    A worker holds many provider calls in flight on threads; each would otherwise keep a
    connection idle for the whole call (10-60 s) and exhaust the pool or the server's limit.
    Django reconnects (or takes a pooled connection) on the next query. Inside a transaction
    the connection is in use and is kept.
    """
    if not connection.in_atomic_block:
        connection.close()


def off_loop(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``function`` for an async view: run in the event loop's shared thread pool (not a
    thread kept for the request, as asgiref's default gives), its connection handed back after,
    so a request awaiting something between two such calls holds neither thread nor connection.
    """

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        finally:
            db_release()

    return sync_to_async(functools.wraps(function)(run), thread_sensitive=False)


def after_commit(function: Callable[..., object], /, *args: object, **kwargs: object) -> None:
    """Run ``function(*args, **kwargs)`` once the current transaction commits (at once outside
    one). Robust: a failure is logged, never raised into the caller, whose change stands."""
    call = functools.update_wrapper(functools.partial(function, *args, **kwargs), function)
    transaction.on_commit(call, robust=True)
