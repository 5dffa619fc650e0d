"""Prepares a fresh installation for its first use; safe to run again (``make run`` does)."""

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from generations.catalog import list_models
from generations.models import ProviderAccount

DEMO_ACCOUNT_LABEL = "Demo renderer (local)"


class Command(BaseCommand):
    help = "Ensure the admin user and the local demo provider exist."

    def handle(self, *args: Any, **options: Any) -> None:
        self._ensure_admin()
        self._ensure_demo_provider()

    def _ensure_admin(self) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(username="admin").exists():
            return
        password = settings.ADMIN_PASSWORD or secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username="admin", email="", password=password)
        if settings.ADMIN_PASSWORD:
            self.stdout.write("Created user 'admin' with the password from ADMIN_PASSWORD.")
        else:
            # Shown once: the password exists nowhere else.
            self.stdout.write(
                self.style.WARNING(f"Created user 'admin' with password: {password}  (shown once)")
            )

    def _ensure_demo_provider(self) -> None:
        if settings.PRODUCTION:
            # A team's installation serves real providers only: placeholders are not Seedream.
            self.stdout.write("Production profile: the demo provider is not added.")
            return
        # Created once; staff may later narrow or disable it in the admin, and we leave that be.
        _, created = ProviderAccount.objects.get_or_create(
            label=DEMO_ACCOUNT_LABEL,
            defaults={
                "kind": ProviderAccount.Kind.LOCAL,
                "priority": 1000,
                "models_served": [model.id for model in list_models()],
            },
        )
        if created:
            self.stdout.write("Added the local demo provider for every catalog model.")
