from django.db import models


class ProviderAccount(models.Model):
    """An account at one provider that the router may send generations to."""

    class Kind(models.TextChoices):
        LOCAL = "local", "Local demo renderer"
        ARK = "ark", "Volcengine Ark"
        BYTEPLUS = "byteplus", "BytePlus ModelArk"
        REPLICATE = "replicate", "Replicate"
        FAL = "fal", "fal.ai"
        SCENARIO = "scenario", "Scenario"
        ACEDATA = "acedata", "Ace Data Cloud"
        SINANCODE = "sinancode", "SinanCode"
        SIRAYA = "siraya", "Siraya"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    label = models.CharField(max_length=100, unique=True)
    base_url = models.URLField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True)
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="Lower numbers are tried first."
    )
    models_served = models.JSONField(
        default=list, blank=True, help_text="Catalog model ids this account serves."
    )
    model_ids = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per catalog model, the provider's model id to send instead of the default "
        "(e.g. an Ark endpoint id ep-…).",
    )
    credentials_encrypted = models.TextField(
        blank=True,
        help_text="The API key, encrypted (generations.security.credentials); never shown.",
    )
    consecutive_auth_failures = models.PositiveSmallIntegerField(default=0)
    disabled_reason = models.CharField(max_length=300, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    options = models.JSONField(default=dict, blank=True)
    connect_timeout_s = models.FloatField(default=10.0)
    read_timeout_s = models.FloatField(default=120.0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "label"]

    def __str__(self) -> str:
        return self.label

    @property
    def is_demo(self) -> bool:
        return self.kind == self.Kind.LOCAL
