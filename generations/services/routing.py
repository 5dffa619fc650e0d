"""Which provider accounts may serve a generation, best first, and each one's adapter config."""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from generations.catalog import list_models
from generations.models import ProviderAccount
from generations.providers import AccountConfig
from generations.runtime.db import after_commit
from generations.security.credentials import credential_decrypt

# An account that failed more recently than it succeeded, within this window, goes to the back.
RECENT_FAILURE_WINDOW = timedelta(minutes=5)


def accounts_for_model(*, model_id: str) -> list[ProviderAccount]:
    """Enabled accounts serving ``model_id``: healthy ones first, then by priority (low first).

    The demo renderer serves a model only while no real account does: it never stands in for a
    real provider that failed (its placeholders would be charged as Seedream images).
    """
    enabled = _enabled_accounts()
    # Stable: the priority order is kept among equally healthy accounts.
    return sorted(_serving(enabled, model_id=model_id), key=_recently_failing)


_enabled: tuple[float, list[ProviderAccount]] | None = None


def _enabled_accounts() -> list[ProviderAccount]:
    """The enabled accounts by priority, read at most once per ``PROVIDER_ROUTING_CACHE_S``
    in a process: every generation asks, and a burst of hundreds would read the same few rows
    hundreds of times. A change this process makes is seen at once (``routing_forget``); one
    made by another process (the admin, another worker) within that many seconds."""
    global _enabled
    now = time.monotonic()
    read = _enabled
    if read is not None and now - read[0] < settings.PROVIDER_ROUTING_CACHE_S:
        return read[1]
    enabled = list(ProviderAccount.objects.filter(enabled=True).order_by("priority", "id"))
    _enabled = (now, enabled)
    return enabled


def routing_forget() -> None:
    """Read the accounts afresh at the next routing (an account was changed here)."""
    global _enabled
    _enabled = None


@receiver([post_save, post_delete], sender=ProviderAccount)
def _account_changed(**_kwargs: object) -> None:
    # After commit: a routing in between would read, and keep, the rows as they were.
    after_commit(routing_forget)


def _serving(enabled: Sequence[ProviderAccount], *, model_id: str) -> list[ProviderAccount]:
    """Of the ``enabled`` accounts, those that serve ``model_id``: the real ones, or the demo
    renderer only while no real account serves it."""
    listed = [account for account in enabled if model_id in account.models_served]
    real = [account for account in listed if not account.is_demo]
    return real or listed


@dataclass(frozen=True)
class DemoRenderer:
    """The built-in demo renderer's accounts and the models it serves right now."""

    accounts: list[ProviderAccount]
    models_served: list[str]

    @property
    def active(self) -> bool:
        return bool(self.models_served)

    @property
    def enabled(self) -> bool:
        return any(account.enabled for account in self.accounts)


def demo_renderer_state() -> DemoRenderer:
    """Which models would get demo placeholders now: those an enabled demo account lists and
    no enabled real account serves (``accounts_for_model``'s rule), in catalog order."""
    accounts = list(ProviderAccount.objects.order_by("priority", "id"))
    enabled = [account for account in accounts if account.enabled]
    listed = {model for account in enabled if account.is_demo for model in account.models_served}
    catalog = [model.id for model in list_models()]
    # Catalog order first; a model the catalog no longer lists goes last.
    in_order = [model for model in catalog if model in listed] + sorted(listed - set(catalog))
    served = [
        model_id
        for model_id in in_order
        if any(account.is_demo for account in _serving(enabled, model_id=model_id))
    ]
    return DemoRenderer(
        accounts=[account for account in accounts if account.is_demo], models_served=served
    )


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
