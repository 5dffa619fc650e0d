from django.db import models

from generations.models.provider_account import ProviderAccount


class ProviderAttempt(models.Model):
    """One call to one provider account on behalf of a generation."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partly succeeded"
        FAILED = "failed", "Failed"

    generation = models.ForeignKey(
        "generations.Generation", on_delete=models.CASCADE, related_name="attempts"
    )
    account = models.ForeignKey(
        "generations.ProviderAccount",
        on_delete=models.SET_NULL,
        null=True,
        related_name="attempts",
    )
    provider_kind = models.CharField(max_length=32)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    provider_request_id = models.CharField(max_length=255, blank=True, db_index=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    images_returned = models.PositiveSmallIntegerField(default=0)
    usage = models.JSONField(default=dict, blank=True)
    polls = models.PositiveIntegerField(
        default=0, help_text="Polls of the job so far; a duplicate poll task finds it moved on."
    )
    job_state = models.JSONField(
        default=dict, blank=True, help_text="What polling a job-based provider needs (URLs, ids)."
    )
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    job_ms = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="A job's run time by the provider's own clock (creation to completion), "
        "where the provider reports it.",
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at"]
        indexes = [
            # Provider health reads calls by when they started (the roll-up, the live part of
            # the page); /metrics' latency histogram by when they finished.
            models.Index(fields=["started_at"], name="provider_attempt_started"),
            models.Index(fields=["finished_at"], name="provider_attempt_finished"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_kind} {self.outcome}"

    @property
    def delivered_demo_images(self) -> bool:
        """Images of this call came from the built-in demo renderer: placeholders, not Seedream.

        The same rule as a query: ``generations.selectors.generations.demo_output_exists``.
        """
        return self.provider_kind == ProviderAccount.Kind.LOCAL and self.images_returned > 0
