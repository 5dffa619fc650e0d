"""Template filters of the workspace pages: names, sizes, times and credits said plainly."""

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone

from generations.catalog import list_models
from generations.models import Generation, ProviderAccount, ProviderAttempt
from generations.providers.errors import reason_for_teammates

register = template.Library()

# Sizes are written with the multiplication sign between the sides, not the letter x.
TIMES = "\N{MULTIPLICATION SIGN}"

_LABELS = {model.id: model.label for model in list_models()}


@register.filter
def model_label(model_id: str) -> str:
    """The catalog's display name ("Seedream 4.0"); an unknown id is shown as it is."""
    return _LABELS.get(model_id, model_id)


@register.filter
def dimensions(generation: Generation) -> str:
    """Width by height from the normalized request, or "" while it has no size yet."""
    params = generation.params or {}
    width, height = params.get("width"), params.get("height")
    return f"{width}{TIMES}{height}" if width and height else ""


@register.filter
def aspect_view_box(generation: Generation) -> str:
    """An SVG ``viewBox`` of the requested size, so a tile keeps its shape before its image
    has arrived (templates/generations/_thumb_shape.html); square while the size is unknown."""
    params = generation.params or {}
    width, height = params.get("width"), params.get("height")
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return f"0 0 {width} {height}"
    return "0 0 1 1"


def _seconds_between(start: datetime | None, end: datetime | None) -> int | None:
    if start is None:
        return None
    return max(0, int(((end or timezone.now()) - start).total_seconds()))


@register.filter
def elapsed(generation: Generation) -> str:
    """How long it has been working (or took): "8 s", "2 min 05 s", "1 h 04 min"."""
    seconds = _seconds_between(generation.created_at, generation.finished_at)
    return duration(seconds) if seconds is not None else ""


@register.filter
def duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return ""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@register.filter
def credits_returned(generation: Generation) -> int:
    """Credits held for this generation that went back to the balance when it ended."""
    if not generation.is_terminal:
        return 0
    return generation.credits_held - generation.credits_charged


@register.filter
def images_stored(generation: Generation) -> int:
    # ``len`` of the prefetched list, never a COUNT query per card.
    return len(generation.outputs.all())


@register.filter
def pending_slots(generation: Generation) -> range:
    """Placeholders for the images of a running generation that have not arrived yet."""
    if generation.is_terminal:
        return range(0)
    return range(max(0, generation.num_images - images_stored(generation)))


@register.filter
def progress_percent(generation: Generation) -> int:
    if generation.num_images <= 0:
        return 0
    return min(100, round(100 * images_stored(generation) / generation.num_images))


@register.filter
def media_columns(generation: Generation) -> int:
    """Columns of a card's image grid: one row for up to three, then squares of two to four."""
    count = max(1, generation.num_images)
    if count <= 3:
        return count
    if count == 4:
        return 2
    return 3 if count <= 6 else 4


@register.filter
def attempt_reason(attempt: ProviderAttempt) -> str:
    """A failed call's reason as a teammate reads it (staff see the raw error beside it)."""
    if not attempt.error_message:
        return ""
    return reason_for_teammates(code=attempt.error_code, message=attempt.error_message)


@register.filter
def provider_name(kind: str) -> str:
    """A provider kind's name ("Replicate"); which of our accounts served it stays internal."""
    return str(dict(ProviderAccount.Kind.choices).get(kind, kind))
