"""Which provider accounts may serve a generation, best first, and each one's adapter config."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .credentials import credential_decrypt
from .models import ProviderAccount
from .providers import AccountConfig

# An account that failed more recently than it succeeded, within this window, goes to the back.
RECENT_FAILURE_WINDOW = timedelta(minutes=5)


def accounts_for_model(*, model_id: str) -> list[ProviderAccount]:
    """Enabled accounts serving ``model_id``: healthy ones first, then by priority (low first).

    The demo renderer serves a model only while no real account does: it never stands in for a
    real provider that failed (its placeholders would be charged as Seedream images).
    """
    accounts = [
        account
        for account in ProviderAccount.objects.filter(enabled=True).order_by("priority", "id")
        if model_id in account.models_served
    ]
    real = [account for account in accounts if account.kind != ProviderAccount.Kind.LOCAL]
    return sorted(real or accounts, key=_recently_failing)  # stable: priority order kept


def _recently_failing(account: ProviderAccount) -> bool:
    failed = account.last_failure_at
    if failed is None or failed < timezone.now() - RECENT_FAILURE_WINDOW:
        return False
    return account.last_success_at is None or failed > account.last_success_at


def account_config(account: ProviderAccount) -> AccountConfig:
    options = dict(account.options)
    if account.kind == ProviderAccount.Kind.LOCAL:
        options.setdefault("latency_s", settings.LOCAL_PROVIDER_LATENCY_S)
    if account.model_ids:
        options["model_ids"] = dict(account.model_ids)
    return AccountConfig(
        kind=account.kind,
        label=account.label,
        base_url=account.base_url,
        api_key=credential_decrypt(account.credentials_encrypted),
        connect_timeout_s=account.connect_timeout_s,
        read_timeout_s=account.read_timeout_s,
        options=options,
    )
