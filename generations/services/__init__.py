"""Writes to generations. Callers (pages, API, tasks, commands) use these functions only.

Every status change goes through ``lifecycle``; ``submit`` accepts a request and ``run`` /
``jobs`` are the worker's half of the path.
"""

from generations.services.errors import IdempotencyConflict, ReferenceRejected
from generations.services.lifecycle import (
    GenerationNotCancelable,
    GenerationNotDeletable,
    TransitionRefused,
    generation_cancel,
    generation_delete,
)
from generations.services.run import generation_run
from generations.services.submit import generation_submit, generation_submit_or_replay

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
