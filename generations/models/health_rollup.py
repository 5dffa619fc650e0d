"""Provider health rolled up per account and 5-minute bucket, so the health page reads a bounded
number of rows instead of every call of the last day (``generations.services.provider_health``).
"""

from django.db import models

# The id of the one ProviderHealthRollupProgress row.
ROLLUP_PROGRESS_ID = 1


class ProviderHealthRollup(models.Model):
    """The calls to one account that started in one bucket, as counted when it was rolled up.

    The counts mean what the health page's columns mean (``generations.usage.health``). Failures
    are also counted by the error code the attempt ended with; codes without a column (canceled,
    worker_lost, internal_error, …) count in ``failed`` only. Latencies are kept as a histogram
    whose bins are 2^(1/16) (about 4.4 %) wide, so a percentile read from it is off by less
    than one bin width from the exact one (``generations.services.health_tally``).
    """

    account = models.ForeignKey(
        "generations.ProviderAccount", on_delete=models.CASCADE, related_name="health_rollups"
    )
    bucket_start = models.DateTimeField()
    calls = models.PositiveIntegerField(default=0)
    finished = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0, help_text="Succeeded or partly succeeded.")
    failed = models.PositiveIntegerField(default=0)
    failovers = models.PositiveIntegerField(
        default=0, help_text="Calls after which the generation was sent to another call."
    )
    rate_limited = models.PositiveIntegerField(default=0)
    timeouts = models.PositiveIntegerField(default=0)
    auth_failed = models.PositiveIntegerField(default=0)
    quota_exhausted = models.PositiveIntegerField(default=0)
    unavailable = models.PositiveIntegerField(default=0)
    bad_request = models.PositiveIntegerField(default=0)
    content_refused = models.PositiveIntegerField(default=0)
    bad_response = models.PositiveIntegerField(default=0)
    latency_histogram = models.JSONField(
        default=dict, blank=True, help_text="Calls per latency bin: {bin index: calls}."
    )
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["bucket_start", "account"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "bucket_start"], name="provider_health_rollup_one_per_bucket"
            )
        ]
        # The page reads a range of buckets for every account at once.
        indexes = [models.Index(fields=["bucket_start"], name="provider_health_rollup_bucket")]

    def __str__(self) -> str:
        return f"{self.account_id} at {self.bucket_start:%Y-%m-%d %H:%M}: {self.calls} calls"


class ProviderHealthRollupProgress(models.Model):
    """How far the roll-up has got; a single row (id 1).

    Buckets from ``covered_from`` up to ``settled_until`` are final: every call that started in
    them had ended, and so had its generation (no failover can follow any more). Later buckets
    are recomputed by every run until they are, and the page reads their calls live.
    """

    covered_from = models.DateTimeField()
    settled_until = models.DateTimeField()
    run_started_at = models.DateTimeField(
        help_text="When the run that wrote the buckets began: an older run finishing later "
        "leaves them alone."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id=ROLLUP_PROGRESS_ID),
                name="provider_health_rollup_progress_single_row",
            )
        ]

    def __str__(self) -> str:
        return f"settled until {self.settled_until:%Y-%m-%d %H:%M}"
