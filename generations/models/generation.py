import uuid

from django.conf import settings
from django.db import models


def default_webhook_events() -> list[str]:
    # A callable: a shared list default would be mutated across rows.
    return ["succeeded", "partial", "failed", "canceled"]


class Generation(models.Model):
    """One request for images: what was asked, by whom, its state, and what it cost."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partly succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Only me"
        TEAM = "team", "Team"

    TERMINAL_STATUSES = (Status.SUCCEEDED, Status.PARTIAL, Status.FAILED, Status.CANCELED)
    # Ended with images to show (and to pay for).
    DELIVERED_STATUSES = (Status.SUCCEEDED, Status.PARTIAL)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="generations"
    )
    api_key = models.ForeignKey(
        "accounts.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="generations",
        help_text="The key the request came with; empty for the browser workspace.",
    )
    wallet = models.ForeignKey(
        "accounts.CreditAccount",
        on_delete=models.PROTECT,
        related_name="generations",
        help_text="The wallet it is charged to: the owner's own or one of their teams'.",
    )
    shared_team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shared_generations",
        help_text="With team visibility: the team that sees it; empty: everyone here.",
    )
    model = models.CharField(max_length=64, help_text="Catalog model id, e.g. seedream-4.0.")
    prompt = models.TextField()
    params = models.JSONField(default=dict, help_text="The validated, normalized request.")
    num_images = models.PositiveSmallIntegerField(default=1)
    seed_requested = models.BigIntegerField(null=True, blank=True)
    seed_used = models.BigIntegerField(
        null=True, blank=True, help_text="The seed the provider reports it honoured, if any."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    image_errors = models.JSONField(
        default=list, blank=True, help_text="Per-image failures of a group: index, code, message."
    )
    price_per_image = models.PositiveIntegerField(
        default=0, help_text="Credits per delivered image, fixed when the request was accepted."
    )
    credits_held = models.PositiveIntegerField(default=0)
    credits_charged = models.PositiveIntegerField(default=0)
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="sha256 of the request, to tell a retry from a reuse."
    )
    webhook_url = models.URLField(max_length=2000, blank=True)
    webhook_events = models.JSONField(
        default=default_webhook_events,
        blank=True,
        help_text=(
            "Terminal statuses that trigger a webhook delivery (generations.messaging.webhooks)."
        ),
    )
    dispatched_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the broker took the task that runs it; empty while it waits to be sent "
        "(generations.runtime.dispatch).",
    )
    lease_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While running: a worker renews this; once past, the run is presumed lost "
        "(generations.services.recovery).",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    files_removed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a deleted generation's files left storage."
    )
    # Soft delete: the row (and its ledger entries) stay for audit; a periodic job removes the
    # files later. Every API read filters ``deleted_at__isnull=True``.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["status", "created_at"]),
            # The API's team scope: everyone's shared generations, newest first.
            models.Index(fields=["visibility", "-created_at"]),
            # The outbox sweep: accepted generations whose task the broker has not taken yet.
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="queued", dispatched_at__isnull=True),
                name="generation_to_dispatch",
            ),
            # The recovery sweep: running generations whose worker stopped renewing the lease.
            models.Index(
                fields=["lease_expires_at"],
                condition=models.Q(status="running"),
                name="generation_running_lease",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="generation_unique_idempotency_key_per_owner",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["queued", "running", "succeeded", "partial", "failed", "canceled"]
                ),
                name="generation_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(credits_charged__lte=models.F("credits_held")),
                name="generation_charged_within_held",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} · {self.prompt[:40]}"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL_STATUSES

    @property
    def waiting_reason(self) -> str:
        """Why a queued generation has not started, in plain words ("" once it has)."""
        if self.status != self.Status.QUEUED:
            return ""
        if self.dispatched_at is None:
            return (
                "Waiting for a worker: the task queue cannot be reached right now. It is sent "
                "as soon as the queue is back; nothing is lost and the credits stay held."
            )
        return "Waiting for a worker."
