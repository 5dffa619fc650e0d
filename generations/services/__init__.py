"""Writes to generations. Callers (pages, API, tasks, commands) use these functions only.

Every status change goes through ``lifecycle``; ``submit`` accepts a request and ``run`` /
``jobs`` are the worker's half of the path.
"""

from .errors import IdempotencyConflict, ReferenceRejected
from .lifecycle import (
    GenerationNotCancelable,
    GenerationNotDeletable,
    TransitionRefused,
    generation_cancel,
    generation_delete,
)
from .run import generation_run
from .submit import generation_submit, generation_submit_or_replay

__all__ = [
    "GenerationNotCancelable",
    "GenerationNotDeletable",
    "IdempotencyConflict",
    "ReferenceRejected",
    "TransitionRefused",
    "generation_cancel",
    "generation_delete",
    "generation_run",
    "generation_submit",
    "generation_submit_or_replay",
]
