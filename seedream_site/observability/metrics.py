"""``/metrics``: the platform's state in the Prometheus text format, read at scrape time.

Every figure comes from the database or the broker when Prometheus asks, not from counters
kept in memory: generations run in Celery workers, often on other machines and without an
HTTP port, so an in-process counter in one web process would see a fraction of them. Read
from the shared database, any web process answers for the whole installation, and a restart
loses nothing. Three queries and one broker round trip per scrape.

- ``seedream_generations{status,model}`` (gauge): rows by status and model, soft-deleted ones
  included (they were made and paid for).
- ``seedream_provider_call_seconds{provider}`` (gauge histogram): latency of the provider calls
  that finished in the last ``METRICS_LATENCY_WINDOW_S`` seconds. A window, not a running
  total, so it can go down: query it with ``histogram_quantile(0.95,
  seedream_provider_call_seconds_bucket)`` directly, without ``rate()``.
- ``seedream_queue_depth{queue}`` (gauge) and ``seedream_broker_up`` (0 or 1).
- ``seedream_credits_captured_total`` (counter): credits spent on delivered images, all time.
"""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from accounts.models import CreditEntry
from generations.models import Generation, ProviderAttempt
from seedream_site.celery import app as celery_app

from .health import queue_depth

# Upper bounds in seconds: image calls take from about a second (local, fast providers) to
# several minutes (job-based providers at busy times).
LATENCY_BUCKETS_S = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)


class PlatformCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield generations_by_status_and_model()
        yield provider_call_latency()
        yield from broker_queue_depth()
        yield credits_captured()


def registry() -> CollectorRegistry:
    """A registry per scrape: nothing is kept between scrapes, so nothing is shared."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(PlatformCollector())
    return scrape


def generations_by_status_and_model() -> Metric:
    family = GaugeMetricFamily(
        "seedream_generations", "Generations by status and model.", labels=["status", "model"]
    )
    rows = Generation.objects.values("status", "model").annotate(count=Count("pk")).order_by()
    for row in rows:
        family.add_metric([row["status"], row["model"]], row["count"])
    return family


def provider_call_latency() -> Metric:
    family = GaugeHistogramMetricFamily(
        "seedream_provider_call_seconds",
        f"Latency of provider calls finished in the last {settings.METRICS_LATENCY_WINDOW_S} s.",
        labels=["provider"],
    )
    since = timezone.now() - timedelta(seconds=settings.METRICS_LATENCY_WINDOW_S)
    # One pass over the window: a filtered COUNT per bucket, grouped by provider.
    bucket_counts = {
        f"le_{index}": Count("pk", filter=Q(latency_ms__lte=bound * 1000))
        for index, bound in enumerate(LATENCY_BUCKETS_S)
    }
    rows = (
        ProviderAttempt.objects.filter(finished_at__gte=since, latency_ms__isnull=False)
        .values("provider_kind")
        .annotate(total=Count("pk"), sum_ms=Sum("latency_ms"), **bucket_counts)
        .order_by()
    )
    for row in rows:
        # The bucket names are built above, so the stubs cannot type them: a plain dict.
        counts: dict[str, Any] = dict(row)
        buckets = [
            (str(float(bound)), counts[f"le_{index}"])
            for index, bound in enumerate(LATENCY_BUCKETS_S)
        ]
        buckets.append(("+Inf", counts["total"]))
        family.add_metric(
            [counts["provider_kind"]], buckets=buckets, gsum_value=(counts["sum_ms"] or 0) / 1000
        )
    return family


def broker_queue_depth() -> Iterator[Metric]:
    queue = celery_app.conf.task_default_queue
    up = GaugeMetricFamily("seedream_broker_up", "Whether the broker answered this scrape.")
    try:
        depth = queue_depth(queue)
    except Exception:  # a scrape reports the broker down rather than failing
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield up
    family = GaugeMetricFamily(
        "seedream_queue_depth", "Tasks waiting in the broker queue.", labels=["queue"]
    )
    family.add_metric([queue], depth)
    yield family


def credits_captured() -> Metric:
    # A capture moves credits out of the hold: its held_change is minus what was spent.
    spent = CreditEntry.objects.filter(kind=CreditEntry.Kind.CAPTURE).aggregate(
        spent=Sum("held_change")
    )["spent"]
    return CounterMetricFamily(
        "seedream_credits_captured",
        "Credits spent on delivered images (captured holds).",
        value=-(spent or 0),
    )
