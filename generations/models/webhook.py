from django.db import models


class WebhookDelivery(models.Model):
    """One try at delivering one event of a generation to its webhook URL.

    Tries of the same event share ``message_id`` (sent as ``webhook-id``) so a receiver can
    drop duplicates; ``next_attempt_at`` is set when another try is scheduled.
    """

    generation = models.ForeignKey(
        "generations.Generation", on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    event = models.CharField(max_length=32, help_text="e.g. generation.succeeded")
    message_id = models.CharField(max_length=100, db_index=True)
    url = models.URLField(max_length=2000)
    attempt = models.PositiveSmallIntegerField(help_text="1 for the first try.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty while the try is in flight."
    )
    delivered = models.BooleanField(default=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["generation", "event", "attempt"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # A redelivered task cannot record the same try twice.
            models.UniqueConstraint(
                fields=["generation", "event", "attempt"], name="webhook_delivery_unique_attempt"
            )
        ]

    def __str__(self) -> str:
        outcome = "delivered" if self.delivered else (self.status_code or self.error[:40])
        return f"{self.event} try {self.attempt} of {self.generation_id}: {outcome}"
