"""Which provider accounts may serve a generation, and the adapter configuration for each."""

from django.conf import settings

from .models import ProviderAccount
from .providers import AccountConfig


def accounts_for_model(*, model_id: str) -> list[ProviderAccount]:
    """Enabled accounts serving ``model_id``, best first (lower priority number first)."""
    accounts = ProviderAccount.objects.filter(enabled=True).order_by("priority", "id")
    return [account for account in accounts if model_id in account.models_served]


def account_config(account: ProviderAccount) -> AccountConfig:
    options = dict(account.options)
    if account.kind == ProviderAccount.Kind.LOCAL:
        options.setdefault("latency_s", settings.LOCAL_PROVIDER_LATENCY_S)
    return AccountConfig(
        kind=account.kind,
        label=account.label,
        base_url=account.base_url,
        connect_timeout_s=account.connect_timeout_s,
        read_timeout_s=account.read_timeout_s,
        options=options,
    )
