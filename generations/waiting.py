"""Waiting for a generation to finish, for callers that answer only with the result."""

import time

from .api_selectors import generations_ended

POLL_INTERVAL_S = 0.5


def generation_wait_terminal(*, generation_id: str, timeout_s: float) -> bool:
    """Re-read the status every POLL_INTERVAL_S until terminal or ``timeout_s`` pass; returns
    whether it ended. Holds the calling thread (fine under a threaded WSGI server)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if generations_ended(generation_ids=[generation_id]):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(POLL_INTERVAL_S, remaining))
