"""Database connections around slow provider calls."""

from django.db import connection


def db_release() -> None:
    """Give this thread's database connection back before waiting on a provider.

    A worker holds many provider calls in flight on threads; each would otherwise keep a
    connection idle for the whole call (10-60 s) and exhaust the pool or the server's limit.
    Django reconnects (or takes a pooled connection) on the next query. Inside a transaction
    the connection is in use and is kept.
    """
    if not connection.in_atomic_block:
        connection.close()
