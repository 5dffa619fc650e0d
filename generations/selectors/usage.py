"""A user's usage by day and model."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from generations.models import (
    Generation,
    OutputImage,
)


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
