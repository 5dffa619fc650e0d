"""Reconciliation: what the ledger charged for a provider's images against what it reported.

For one provider kind and one day (attempts started that day, in the site's time zone) it sets,
per generation, three counts side by side:

- ``reported``: images the provider says it generated (``usage.generated_images`` of its
  attempts): what its bill will count;
- ``returned``: images its attempts handed us and we stored (``images_returned``);
- ``captured``: images the ledger charged the user for (the generation's capture entry divided
  by its price per image), less the images other providers' attempts delivered (a failover).

They should all agree. ``reported > returned`` means we pay for images nobody received;
``captured != returned`` means a user paid for the wrong number. Queries: 4, however many rows.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import F, Sum

from accounts.models import CreditEntry
from generations.models import Generation, ProviderAttempt
from generations.usage.dimensions import day_bounds
from generations.usage.expressions import JsonCount


@dataclass
class GenerationReconciliation:
    generation_id: Any
    attempt_ids: list[int] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    reported: int | None = None  # None: the provider reported no usage for any attempt
    returned: int = 0
    captured: int = 0
    captured_credits: int = 0
    price_per_image: int = 0

    @property
    def problems(self) -> list[str]:
        found = []
        if self.reported is not None and self.reported != self.returned:
            found.append(
                f"provider reported {self.reported} image(s) but {self.returned} were returned"
            )
        if self.captured != self.returned:
            found.append(
                f"ledger captured {self.captured} image(s) ({self.captured_credits} credits) "
                f"for {self.returned} returned"
            )
        return found


@dataclass(frozen=True)
class Reconciliation:
    provider: str
    day: date
    generations: list[GenerationReconciliation]

    @property
    def differences(self) -> list[GenerationReconciliation]:
        return [one for one in self.generations if one.problems]

    def total(self, name: str) -> int:
        return sum(getattr(one, name) or 0 for one in self.generations)


def reconcile(*, provider: str, day: date) -> Reconciliation:
    start, end = day_bounds(day)
    attempts = ProviderAttempt.objects.filter(
        provider_kind=provider, started_at__gte=start, started_at__lt=end
    ).exclude(outcome=ProviderAttempt.Outcome.RUNNING)
    rows: dict[Any, GenerationReconciliation] = {}
    for attempt_id, generation_id, request_id, returned, reported in attempts.order_by(
        "generation_id", "id"
    ).values_list(
        "id",
        "generation_id",
        "provider_request_id",
        "images_returned",
        JsonCount("usage", key="generated_images"),
    ):
        row = rows.setdefault(generation_id, GenerationReconciliation(generation_id=generation_id))
        row.attempt_ids.append(attempt_id)
        if request_id:
            row.request_ids.append(request_id)
        row.returned += returned
        if reported is not None:
            row.reported = (row.reported or 0) + reported
    generation_ids = attempts.values("generation_id")
    prices = dict(
        Generation.objects.filter(id__in=generation_ids).values_list("id", "price_per_image")
    )
    captured = dict(
        CreditEntry.objects.filter(generation_id__in=generation_ids, kind=CreditEntry.Kind.CAPTURE)
        .values("generation_id")
        .annotate(credits=Sum(-F("held_change")))
        .values_list("generation_id", "credits")
        .order_by()
    )
    # Images of the same generations delivered by attempts at other providers or on other
    # days: the capture pays for those too, so they are not this provider's.
    elsewhere: dict[Any, int] = defaultdict(int)
    for generation_id, returned in (
        ProviderAttempt.objects.filter(generation_id__in=generation_ids)
        .exclude(id__in=attempts.values("id"))
        .values_list("generation_id", "images_returned")
    ):
        elsewhere[generation_id] += returned
    for generation_id, row in rows.items():
        row.price_per_image = prices.get(generation_id, 0)
        credits = captured.get(generation_id) or 0
        row.captured_credits = credits - elsewhere[generation_id] * row.price_per_image
        if row.price_per_image:
            row.captured = credits // row.price_per_image - elsewhere[generation_id]
        else:
            row.captured = row.returned  # a free model: the ledger has nothing to count by
    return Reconciliation(provider=provider, day=day, generations=sorted(rows.values(), key=_order))


def _order(row: GenerationReconciliation) -> tuple[int, str]:
    return (min(row.attempt_ids), str(row.generation_id))
