"""Celery tasks: thin wrappers that re-fetch by id and call one service."""

from celery import shared_task

from .services.run import generation_run


# acks_late: generation_run is idempotent (it acts only from QUEUED/RUNNING and never stores an
# image of a group twice), so a task lost with its worker is safely redelivered.
@shared_task(name="generations.run_generation", acks_late=True, ignore_result=True)
def run_generation_task(*, generation_id: str) -> None:
    generation_run(generation_id=generation_id)
