"""Writes to generations. Callers (pages, API, tasks, commands) use these functions only."""

from .cancel import GenerationNotCancelable, generation_cancel
from .errors import IdempotencyConflict, ReferenceRejected
from .run import generation_run
from .submit import generation_submit

__all__ = [
    "GenerationNotCancelable",
    "IdempotencyConflict",
    "ReferenceRejected",
    "generation_cancel",
    "generation_run",
    "generation_submit",
]
