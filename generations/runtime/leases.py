"""The generations this process is working on, whose leases its housekeeping thread renews
(``generations.tasks.worker``). A run holds one while its task runs, and a provider call on the
process's event loop holds one from its start to its end, with no thread of its own."""

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator

# A Counter: a run, a poll and a call on the loop may overlap for one generation.
_working: Counter[str] = Counter()
_working_lock = threading.Lock()


def lease_hold(generation_id: str) -> None:
    with _working_lock:
        _working[generation_id] += 1


def lease_release(generation_id: str) -> None:
    with _working_lock:
        _working[generation_id] -= 1
        if _working[generation_id] <= 0:
            del _working[generation_id]


@contextlib.contextmanager
def lease_kept(generation_id: str) -> Iterator[None]:
    """While inside, this process's housekeeping thread renews the generation's lease."""
    lease_hold(generation_id)
    try:
        yield
    finally:
        lease_release(generation_id)


def leases_held() -> list[str]:
    with _working_lock:
        return list(_working)
