from collections.abc import Iterator

import pytest

from generations.providers import (
    AccountConfig,
    BaseAdapter,
    ProviderOutcome,
    ProviderRequest,
    adapter_kinds,
    build_adapter,
    get_adapter_class,
    register_adapter,
)
from generations.providers import registry as registry_module
from generations.providers.local import LocalAdapter


def test_local_is_registered() -> None:
    assert "local" in adapter_kinds()
    assert get_adapter_class("local") is LocalAdapter


def test_build_adapter_picks_the_class_by_kind_and_keeps_the_account() -> None:
    account = AccountConfig(kind="local", label="demo")

    adapter = build_adapter(account)

    assert isinstance(adapter, LocalAdapter)
    assert adapter.account is account
    assert adapter.transport is None


def test_unknown_kind_names_the_known_kinds() -> None:
    with pytest.raises(KeyError) as caught:
        get_adapter_class("no-such-provider")

    message = str(caught.value)
    assert "'no-such-provider'" in message
    assert "known kinds:" in message
    assert "local" in message


def test_register_adapter_rejects_a_second_class_for_a_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registry_module, "_ADAPTERS", dict(registry_module._ADAPTERS))

    class Impostor(BaseAdapter):
        kind = "local"

        def generate(self, request: ProviderRequest) -> Iterator[ProviderOutcome]:
            yield from ()

    with pytest.raises(ValueError, match="already registered"):
        register_adapter(Impostor)


def test_register_adapter_needs_a_kind() -> None:
    class Nameless(BaseAdapter):
        def generate(self, request: ProviderRequest) -> Iterator[ProviderOutcome]:
            yield from ()

    with pytest.raises(ValueError, match="non-empty string `kind`"):
        register_adapter(Nameless)


def test_registered_adapter_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "_ADAPTERS", dict(registry_module._ADAPTERS))

    @register_adapter
    class Echo(BaseAdapter):
        kind = "echo-test"

        def generate(self, request: ProviderRequest) -> Iterator[ProviderOutcome]:
            yield from ()

    assert "echo-test" in adapter_kinds()
    assert isinstance(build_adapter(AccountConfig(kind="echo-test", label="e")), Echo)
