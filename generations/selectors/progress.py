"""How far running generations have got: what live progress and the waits read."""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max

from generations.models import (
    Generation,
    OutputImage,
)


@dataclass(frozen=True)
class GenerationProgress:
    status: str
    error_code: str
    error_message: str
    credits_held: int
    credits_charged: int
    updated_at: datetime
    new_outputs: list[OutputImage]

    @property
    def is_terminal(self) -> bool:
        return self.status in Generation.TERMINAL_STATUSES


@dataclass(frozen=True)
class ProgressMark:
    """How far a generation has come: its status and its newest stored output. A stream that
    has passed on this much has nothing new to send until the mark moves."""

    status: str
    last_output_id: int


def generation_progress(*, generation_id: str, after_output_id: int) -> GenerationProgress | None:
    """The generation's state now and the outputs stored after output ``after_output_id``.

    Made for polling loops (server-sent events): two small queries. Output ids grow in the
    order images are stored, whatever their index in the group. The status is read first, so
    once it reads terminal the outputs read after it are all there are. None when the
    generation was deleted meanwhile.
    """
    row = (
        Generation.objects.filter(id=generation_id, deleted_at__isnull=True)
        .values(
            "status",
            "error_code",
            "error_message",
            "credits_held",
            "credits_charged",
            "updated_at",
        )
        .first()
    )
    if row is None:
        return None
    outputs = list(
        OutputImage.objects.filter(generation_id=generation_id, id__gt=after_output_id).order_by(
            "id"
        )
    )
    return GenerationProgress(**row, new_outputs=outputs)


def generation_marks(*, generation_ids: Collection[str]) -> dict[str, ProgressMark]:
    """The marks of these generations, by id as given; deleted or unknown ones are left out.

    One query however many ids (the sweep of every watching event stream of a process)."""
    by_uuid = {uuid.UUID(generation_id): generation_id for generation_id in generation_ids}
    rows = (
        Generation.objects.filter(id__in=list(by_uuid), deleted_at__isnull=True)
        .annotate(last_output_id=Max("outputs__id"))
        .order_by()
        .values_list("id", "status", "last_output_id")
    )
    return {
        by_uuid[found]: ProgressMark(status=status, last_output_id=last_output_id or 0)
        for found, status, last_output_id in rows
    }


def generations_ended(*, generation_ids: Collection[str]) -> set[str]:
    """Which of these generations a waiting call is done waiting for: ended, deleted or unknown.

    One query however many ids (a waiting call's id is given back as it was given)."""
    by_uuid = {uuid.UUID(generation_id): generation_id for generation_id in generation_ids}
    still_running = Generation.objects.filter(
        id__in=list(by_uuid), deleted_at__isnull=True
    ).exclude(status__in=Generation.TERMINAL_STATUSES)
    running = set(still_running.values_list("id", flat=True))
    return {given for found, given in by_uuid.items() if found not in running}
