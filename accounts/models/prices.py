from django.conf import settings
from django.db import models


class ModelPrice(models.Model):
    """Credits charged per delivered image of a catalog model, optionally per size tier.

    A row with an empty ``size_tier`` is the model's price for every size without its own row.
    """

    model = models.CharField(max_length=64, help_text="Catalog model id, e.g. seedream-4.0.")
    size_tier = models.CharField(
        max_length=16, blank=True, help_text="1K, 2K, 3K or 4K; empty for every size."
    )
    credits_per_image = models.PositiveIntegerField()
    source = models.CharField(max_length=300, blank=True, help_text="Where the number comes from.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )

    class Meta:
        ordering = ["model", "size_tier"]
        constraints = [
            models.UniqueConstraint(fields=["model", "size_tier"], name="price_unique_model_tier")
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.size_tier or 'any size'}: {self.credits_per_image}"
