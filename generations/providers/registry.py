"""Adapter classes by provider kind.

Each provider module registers its adapter with `@register_adapter`. Modules of this package are
imported on first lookup, so adding a provider means adding one module (named after its kind by
convention) and nothing else: no list to keep in step.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from typing import TypeVar

import httpx

from generations.providers.base import BaseAdapter
from generations.providers.inputs import AccountConfig

__all__ = ["adapter_kinds", "build_adapter", "get_adapter_class", "register_adapter"]

AdapterClass = TypeVar("AdapterClass", bound=type[BaseAdapter])

_ADAPTERS: dict[str, type[BaseAdapter]] = {}
_discovered = False
_discovery_lock = threading.Lock()


def register_adapter(cls: AdapterClass) -> AdapterClass:
    """Class decorator: make `cls` the adapter for `cls.kind`."""
    kind = getattr(cls, "kind", "")
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"{cls.__qualname__} needs a non-empty string `kind` to be registered")
    existing = _ADAPTERS.get(kind)
    # Same qualified name again is a module reload, not a clash.
    if existing is not None and _qualified_name(existing) != _qualified_name(cls):
        raise ValueError(
            f"provider kind {kind!r} is already registered to {_qualified_name(existing)}"
        )
    _ADAPTERS[kind] = cls
    return cls


def get_adapter_class(kind: str) -> type[BaseAdapter]:
    """The adapter class for `kind`; KeyError naming the known kinds when there is none."""
    if kind not in _ADAPTERS:
        _discover_adapters()
    try:
        return _ADAPTERS[kind]
    except KeyError:
        known = ", ".join(sorted(_ADAPTERS)) or "none"
        raise KeyError(f"no provider adapter of kind {kind!r}; known kinds: {known}") from None


def adapter_kinds() -> list[str]:
    """Every registered provider kind, sorted."""
    _discover_adapters()
    return sorted(_ADAPTERS)


def build_adapter(
    account: AccountConfig, *, transport: httpx.BaseTransport | None = None
) -> BaseAdapter:
    """An adapter instance for `account` (its kind picks the class, its options the mode)."""
    adapter_class = get_adapter_class(account.kind).adapter_class_for(account)
    return adapter_class(account, transport=transport)


def _discover_adapters() -> None:
    """Import every module of this package once, so their `@register_adapter`s run."""
    global _discovered  # a once-per-process flag, guarded by the lock
    if _discovered:
        return
    with _discovery_lock:
        if _discovered:
            return
        package = __name__.rpartition(".")[0]
        package_path = importlib.import_module(package).__path__
        for module in pkgutil.iter_modules(package_path):
            if not module.name.startswith("_"):
                importlib.import_module(f"{package}.{module.name}")
        _discovered = True


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
