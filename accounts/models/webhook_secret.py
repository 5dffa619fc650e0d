from django.conf import settings
from django.db import models


class WebhookSecret(models.Model):
    """The key a user's webhook deliveries are signed with (Standard Webhooks ``whsec_…``).

    Kept in clear text, unlike API keys: we must compute HMACs with it on every delivery and
    show it to its owner, who verifies signatures with it. Created on first need, replaced by
    ``accounts.services.webhook_secret.webhook_secret_rotate``.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="webhook_secret",
    )
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"webhook secret of {self.user}"
