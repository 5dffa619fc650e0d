"""Provider health: how each provider account behaved over a recent window.

Counted per attempt (one call to one account), unlike the usage report, which counts
generations: a generation that failed over from A to B is one failover at A and one call each.

- calls: attempts started in the window; success rate: succeeded or partly succeeded among the
  finished ones;
- latency: p50/p95 of the recorded call time (``latency_ms``);
- rate limits: attempts that ended ``rate_limited``;
- failovers: attempts followed by another attempt of the same generation (the router moved on);
- auto-disables: ``provider_account.disabled`` audit events without an actor (the router's).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from accounts.models import AuditEvent

from ..models import ProviderAccount, ProviderAttempt
from .expressions import grouped_percentiles

WINDOWS = (("Last hour", timedelta(hours=1)), ("Last day", timedelta(days=1)))
SUCCESS = (ProviderAttempt.Outcome.SUCCEEDED, ProviderAttempt.Outcome.PARTIAL)
AUTO_DISABLE_ACTION = "provider_account.disabled"


@dataclass(frozen=True)
class AccountHealth:
    calls: int = 0
    finished: int = 0
    succeeded: int = 0
    rate_limited: int = 0
    failovers: int = 0
    auto_disables: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.finished if self.finished else None

    @property
    def success_percent(self) -> float | None:
        rate = self.success_rate
        return None if rate is None else round(rate * 100, 1)

    @property
    def p50_s(self) -> float | None:
        return None if self.p50_ms is None else round(self.p50_ms / 1000, 1)

    @property
    def p95_s(self) -> float | None:
        return None if self.p95_ms is None else round(self.p95_ms / 1000, 1)


@dataclass(frozen=True)
class HealthWindow:
    label: str
    since: datetime
    by_account: dict[int, AccountHealth]

    def of(self, account: ProviderAccount) -> AccountHealth:
        return self.by_account.get(account.pk, AccountHealth())


@dataclass(frozen=True)
class ProviderHealth:
    accounts: list[ProviderAccount]
    windows: list[HealthWindow]


def provider_health(*, now: datetime | None = None) -> ProviderHealth:
    """Every provider account with its figures per window, in 1 + 3 queries per window."""
    now = now or timezone.now()
    accounts = list(ProviderAccount.objects.order_by("priority", "label"))
    windows = [
        HealthWindow(label=label, since=now - length, by_account=_window(since=now - length))
        for label, length in WINDOWS
    ]
    return ProviderHealth(accounts=accounts, windows=windows)


def _window(*, since: datetime) -> dict[int, AccountHealth]:
    attempts = ProviderAttempt.objects.filter(started_at__gte=since, account__isnull=False)
    followed = Exists(
        ProviderAttempt.objects.filter(
            generation_id=OuterRef("generation_id"), id__gt=OuterRef("id")
        )
    )
    counts = (
        attempts.annotate(followed=followed)
        .values("account_id")
        .annotate(
            calls=Count("id"),
            finished=Count("id", filter=~Q(outcome=ProviderAttempt.Outcome.RUNNING)),
            succeeded=Count("id", filter=Q(outcome__in=SUCCESS)),
            rate_limited=Count("id", filter=Q(error_code="rate_limited")),
            failovers=Count("id", filter=Q(followed=True)),
        )
        .order_by()
    )
    latencies, _ = grouped_percentiles(
        attempts, keys=["account_id"], value=F("latency_ms"), fractions=(0.5, 0.95)
    )
    disables = dict(
        AuditEvent.objects.filter(
            action=AUTO_DISABLE_ACTION,
            actor__isnull=True,
            created_at__gte=since,
            target_type=ProviderAccount._meta.label_lower,
        )
        .values("target_id")
        .annotate(count=Count("id"))
        .values_list("target_id", "count")
        .order_by()
    )
    figures: dict[int, AccountHealth] = {}
    for row in counts:
        account_id = row["account_id"]
        p50, p95 = latencies.get((account_id,), (None, None))
        figures[account_id] = AccountHealth(
            calls=row["calls"],
            finished=row["finished"],
            succeeded=row["succeeded"],
            rate_limited=row["rate_limited"],
            failovers=row["failovers"],
            auto_disables=disables.pop(str(account_id), 0),
            p50_ms=p50,
            p95_ms=p95,
        )
    for target_id, count in disables.items():  # disabled without a call in the window
        if target_id.isdigit():
            figures[int(target_id)] = AccountHealth(auto_disables=count)
    return figures
