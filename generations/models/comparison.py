"""A comparison run: one prompt (and its references) sent to several models at once, each as
its own generation, kept together so they can be seen side by side and shared like a board."""

import uuid

from django.conf import settings
from django.db import models


class Comparison(models.Model):
    """One prompt run on several models; its generations are its ``entries`` in model order.

    ``refusals`` keeps the models that were asked for but not started, each with the reason
    (a budget or the balance ran out part-way): each generation is held in its own transaction
    (``generations.services.comparisons``), so the earlier ones stay.
    """

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Only me"
        TEAM = "team", "Team"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comparisons"
    )
    prompt = models.TextField()
    models_requested = models.JSONField(
        default=list, help_text="Catalog model ids in the order they were asked for."
    )
    refusals = models.JSONField(
        default=list,
        blank=True,
        help_text="Models not started: model, code and message of each refusal.",
    )
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="comparisons",
        help_text="With team visibility: the team it is shared with; empty: everyone here.",
    )
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="sha256 of the request, to tell a retry from a reuse."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="comparison_unique_idempotency_key_per_owner",
            ),
            models.CheckConstraint(
                condition=models.Q(visibility__in=["private", "team"]),
                name="comparison_visibility_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"comparison · {self.prompt[:40]}"

    @property
    def is_shared(self) -> bool:
        return self.visibility == self.Visibility.TEAM


class ComparisonEntry(models.Model):
    """One generation of a comparison, at its column ``position``."""

    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="entries")
    generation = models.OneToOneField(
        "generations.Generation", on_delete=models.CASCADE, related_name="comparison_entry"
    )
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["comparison", "position"], name="comparison_entry_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"generation {self.generation_id} at {self.position} of {self.comparison_id}"
