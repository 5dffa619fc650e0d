"""Ids that tie a log line to the request or generation it was written for.

Context variables rather than thread-locals: they follow a request through async views (ASGI)
and stay apart between the threads of a worker, each running its own generation.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from uuid import UUID

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
generation_id_var: ContextVar[str | None] = ContextVar("generation_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


def current_generation_id() -> str | None:
    return generation_id_var.get()


@contextmanager
def bind_request_id(request_id: str) -> Iterator[None]:
    token = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(token)


@contextmanager
def bind_generation(generation_id: UUID | str) -> Iterator[None]:
    """Log lines written inside the block carry ``generation_id`` (a worker wraps each task).

    Nested blocks restore the outer id on exit, so a task that touches a second generation
    does not leave the first one's lines mislabelled.
    """
    token = generation_id_var.set(str(generation_id))
    try:
        yield
    finally:
        generation_id_var.reset(token)
