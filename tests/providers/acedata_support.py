"""An Ace Data Cloud provider account on an emulator, for the tests that run generations."""

from typing import Any

from generations.models import ProviderAccount
from generations.services.provider_accounts import ProviderAccountInput, provider_account_create
from tests.emulators.acedata import AceDataEmulator


def ace_account(emulator: AceDataEmulator, base_url: str, **options: Any) -> ProviderAccount:
    """An Ace account serving seedream-4.0 through the emulator at `base_url`; `options` as the
    account's (`async=True` for the job mode)."""
    mode = "async" if options.get("async") else "sync"
    return provider_account_create(
        data=ProviderAccountInput(
            kind="acedata",
            label=f"Ace ({mode})",
            base_url=base_url,
            api_key=emulator.api_key,
            models=["seedream-4.0"],
            options=options,
        ),
        actor=None,
    )
