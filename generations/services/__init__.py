"""Writes to generations. Callers (pages, API, tasks, commands) use these functions only."""

from .errors import IdempotencyConflict, ReferenceRejected
from .run import generation_run
from .submit import generation_submit

__all__ = ["IdempotencyConflict", "ReferenceRejected", "generation_run", "generation_submit"]
