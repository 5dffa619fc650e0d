"""Reads behind the native API: lists with filters, one generation, progress, uploads, usage.

Every API read leaves soft-deleted generations out. Each function returns what its view needs
already joined, so a list answers in a fixed number of queries whatever its length.
"""

import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User

from .models import Generation, OutputImage, Upload
from .selectors import generations_visible_to

SCOPE_MINE = "mine"
SCOPE_TEAM = "team"


@dataclass(frozen=True)
class GenerationFilters:
    scope: str = SCOPE_MINE
    status: str = ""
    model: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None
    text: str = ""


def _with_details(queryset: QuerySet[Generation]) -> QuerySet[Generation]:
    """What ``GenerationSerializer`` reads, in three queries however many rows there are."""
    return queryset.select_related("owner").prefetch_related("outputs", "attempts")


def generation_list_api(*, user: User, filters: GenerationFilters) -> QuerySet[Generation]:
    """``mine``: the caller's own generations, private or shared. ``team``: everyone's shared
    ones, the caller's included. Staff get no more in a list than anyone else: a list is a
    view of the team's work, and staff read others' private work one generation at a time."""
    if filters.scope == SCOPE_TEAM:
        queryset = Generation.objects.filter(visibility=Generation.Visibility.TEAM)
    else:
        queryset = Generation.objects.filter(owner=user)
    queryset = queryset.filter(deleted_at__isnull=True)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.model:
        queryset = queryset.filter(model=filters.model)
    if filters.created_after is not None:
        queryset = queryset.filter(created_at__gte=filters.created_after)
    if filters.created_before is not None:
        queryset = queryset.filter(created_at__lt=filters.created_before)
    if filters.text:
        queryset = queryset.filter(prompt__icontains=filters.text)
    return _with_details(queryset)


def generation_get_api(*, user: User, generation_id: str) -> Generation | None:
    """One generation the caller may see (own, shared, or any for staff), unless deleted."""
    try:
        # get(), not first(): no ORDER BY to build and sort for one row by its key.
        return _with_details(generations_visible_to(user=user)).get(
            id=generation_id, deleted_at__isnull=True
        )
    except Generation.DoesNotExist:
        return None


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


def upload_list_owned(*, user: User) -> QuerySet[Upload]:
    return Upload.objects.filter(owner=user).order_by("-created_at")


def upload_get_owned(*, user: User, upload_id: str) -> Upload | None:
    """The upload only if ``user`` owns it, so another user's upload id reads as missing."""
    return Upload.objects.filter(owner=user, id=upload_id).first()


@dataclass(frozen=True)
class UsageRow:
    day: date
    model: str
    generations: int
    images: int
    credits_charged: int


def usage_by_day_and_model(*, user: User, days: int) -> list[UsageRow]:
    """Per day (in the site's time zone) and model, over the last ``days`` days including today.

    Two grouped queries: generations and credits from the generation rows, delivered images
    from the output rows (counting them in the first query would repeat each generation's
    credits once per image in the sum). Deleted generations count: their credits were spent.
    """
    since = _start_of_day(timezone.localdate() - timedelta(days=days - 1))
    generations = (
        Generation.objects.filter(owner=user, created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day", "model")
        .annotate(count=Count("id"), credits=Sum("credits_charged"))
        .order_by()
    )
    images = (
        OutputImage.objects.filter(generation__owner=user, generation__created_at__gte=since)
        .annotate(day=TruncDate("generation__created_at"))
        .values("day", "generation__model")
        .annotate(count=Count("id"))
        .order_by()
    )
    images_by_key: dict[tuple[date, str], int] = defaultdict(int)
    for row in images:
        images_by_key[(row["day"], row["generation__model"])] += row["count"]
    rows = [
        UsageRow(
            day=row["day"],
            model=row["model"],
            generations=row["count"],
            images=images_by_key[(row["day"], row["model"])],
            credits_charged=row["credits"] or 0,
        )
        for row in generations
    ]
    return sorted(rows, key=lambda usage: (usage.day, usage.model))


def _start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))
