"""Provider accounts: created, changed and disabled here, with an audit event each time.

Credentials are encrypted before they reach the database and never appear in an audit event,
a log line or an error message.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services.audit import audit_record
from generations.catalog import list_models
from generations.models import ProviderAccount
from generations.providers import (
    AuthError,
    BadRequest,
    ProviderError,
    adapter_kinds,
    build_adapter,
    get_adapter_class,
)
from generations.security.credentials import credential_encrypt, credential_rotate
from generations.security.signed_links import reference_links_unreachable
from generations.services.routing import account_config, routing_forget
from studio_core.errors import ServiceError

# Successes are recorded at most this often per account (failures always are).
HEALTH_RESOLUTION = timedelta(seconds=30)


class ProviderAccountInvalid(ServiceError, ValueError):
    code = "invalid_provider_account"


class ReferenceLinksUnreachable(ProviderAccountInvalid):
    """The provider fetches reference images from our links, and they are not on the internet."""

    code = "reference_links_unreachable"


@dataclass(frozen=True)
class ProviderAccountInput:
    kind: str
    label: str
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    models: Sequence[str] = ()
    model_ids: Mapping[str, str] = field(default_factory=dict)
    priority: int = 100
    options: Mapping[str, Any] = field(default_factory=dict)
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0
    enabled: bool = True


def _public_facts(account: ProviderAccount) -> dict[str, Any]:
    """What an audit event may say about an account: everything but the secret."""
    return {
        "kind": account.kind,
        "label": account.label,
        "base_url": account.base_url,
        "enabled": account.enabled,
        "priority": account.priority,
        "models_served": list(account.models_served),
        "model_ids": dict(account.model_ids),
        "has_credentials": bool(account.credentials_encrypted),
    }


def _validated(data: ProviderAccountInput) -> ProviderAccountInput:
    problems = []
    if data.kind not in adapter_kinds():
        problems.append(f"unknown kind {data.kind!r}; known: {', '.join(sorted(adapter_kinds()))}")
    if not data.label.strip():
        problems.append("a label is required, e.g. 'BytePlus (team)'")
    known = {model.id for model in list_models()}
    unknown = [model for model in data.models if model not in known]
    if unknown:
        problems.append(f"unknown models {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if not data.models:
        problems.append("name at least one catalog model the account serves")
    if data.kind != ProviderAccount.Kind.LOCAL and not data.api_key:
        problems.append("an API key is required")
    if problems:
        raise ProviderAccountInvalid("; ".join(problems) + ".")
    return data


def provider_account_create(
    *, data: ProviderAccountInput, actor: User | None, ip_address: str | None = None
) -> ProviderAccount:
    data = _validated(data)
    if ProviderAccount.objects.filter(label=data.label.strip()).exists():
        raise ProviderAccountInvalid(f"An account labelled {data.label!r} already exists.")
    base_url = data.base_url or getattr(get_adapter_class(data.kind), "default_base_url", "")
    with transaction.atomic():
        account = ProviderAccount.objects.create(
            kind=data.kind,
            label=data.label.strip(),
            base_url=base_url,
            credentials_encrypted=credential_encrypt(data.api_key),
            models_served=list(data.models),
            model_ids=dict(data.model_ids),
            priority=data.priority,
            options=dict(data.options),
            connect_timeout_s=data.connect_timeout_s,
            read_timeout_s=data.read_timeout_s,
            enabled=data.enabled,
        )
        audit_record(
            actor=actor,
            action="provider_account.created",
            target=account,
            after=_public_facts(account),
            ip_address=ip_address,
        )
    return account


def provider_account_set_key(
    *, account: ProviderAccount, api_key: str, actor: User | None, ip_address: str | None = None
) -> ProviderAccount:
    if not api_key:
        raise ProviderAccountInvalid("The new API key is empty.")
    with transaction.atomic():
        account.credentials_encrypted = credential_encrypt(api_key)
        account.consecutive_auth_failures = 0
        account.save(
            update_fields=["credentials_encrypted", "consecutive_auth_failures", "updated_at"]
        )
        audit_record(
            actor=actor,
            action="provider_account.key_changed",
            target=account,
            after={"has_credentials": True},
            ip_address=ip_address,
        )
    return account


def provider_account_set_enabled(
    *,
    account: ProviderAccount,
    enabled: bool,
    actor: User | None,
    reason: str = "",
    ip_address: str | None = None,
) -> ProviderAccount:
    with transaction.atomic():
        locked = ProviderAccount.objects.select_for_update().get(pk=account.pk)
        if locked.enabled == enabled:
            return locked
        before = {"enabled": locked.enabled, "disabled_reason": locked.disabled_reason}
        locked.enabled = enabled
        locked.disabled_reason = "" if enabled else reason
        if enabled:
            locked.consecutive_auth_failures = 0
        locked.save(
            update_fields=["enabled", "disabled_reason", "consecutive_auth_failures", "updated_at"]
        )
        audit_record(
            actor=actor,
            action="provider_account.enabled" if enabled else "provider_account.disabled",
            target=locked,
            before=before,
            after={"enabled": enabled, "disabled_reason": locked.disabled_reason},
            ip_address=ip_address,
        )
    return locked


def provider_account_record_outcome(
    *, account: ProviderAccount, error: ProviderError | None
) -> None:
    """Keep the health the router reads; disable an account whose key keeps failing. Each
    write makes this process's routing read the accounts afresh (``routing_forget``)."""
    now = timezone.now()
    if error is None:
        last_success = account.last_success_at
        fresh = last_success is not None and now - last_success < HEALTH_RESOLUTION
        # Not while a later failure stands: the router would go on reading the account as failing.
        failed_since = account.last_failure_at is not None and (
            last_success is None or account.last_failure_at > last_success
        )
        if fresh and not failed_since and not account.consecutive_auth_failures:
            return  # a busy account would otherwise write this row on every call
        ProviderAccount.objects.filter(pk=account.pk).update(
            last_success_at=now, consecutive_auth_failures=0
        )
        account.last_success_at, account.consecutive_auth_failures = now, 0
        routing_forget()
        return
    if isinstance(error, BadRequest):
        return  # the request's fault (a refused size, a content refusal), not the account's
    if not isinstance(error, AuthError):
        ProviderAccount.objects.filter(pk=account.pk).update(last_failure_at=now)
        routing_forget()
        return
    with transaction.atomic():
        locked = ProviderAccount.objects.select_for_update().get(pk=account.pk)
        locked.last_failure_at = now
        locked.consecutive_auth_failures += 1
        locked.save(update_fields=["last_failure_at", "consecutive_auth_failures", "updated_at"])
        threshold = settings.PROVIDER_AUTH_FAILURES_TO_DISABLE
        if locked.enabled and locked.consecutive_auth_failures >= threshold:
            provider_account_set_enabled(
                account=locked,
                enabled=False,
                actor=None,
                reason=f"Disabled after {threshold} authentication failures in a row: "
                f"{error.code}. Check the key with manage.py provider_account check.",
            )


def provider_account_check(*, account: ProviderAccount) -> str:
    """Make the cheapest call that proves the credentials work; returns what it showed.

    Raises ``ProviderError`` (``AuthError`` for a bad key) when they do not, and
    ``ReferenceLinksUnreachable`` when they do but the provider takes reference images only as
    links it fetches from us and ``PUBLIC_BASE_URL`` is not reachable from the internet.
    """
    adapter = build_adapter(account_config(account))
    shown = adapter.check()
    problem = reference_links_unreachable() if adapter.fetches_reference_links else ""
    if problem:
        provider = account.get_kind_display()
        raise ReferenceLinksUnreachable(
            f"{shown} But {provider} takes reference images only as links it downloads from "
            f"this site, and PUBLIC_BASE_URL ({settings.PUBLIC_BASE_URL}) is {problem}, which "
            f"{provider} cannot reach: every generation with a reference image would fail "
            "there. Set PUBLIC_BASE_URL to the https address this site has on the internet, or "
            "keep media on S3 (STORAGE_BACKEND=s3), whose presigned links it can fetch."
        )
    return shown


def provider_accounts_rotate_keys() -> int:
    """Re-encrypt every stored credential with the newest key; returns how many."""
    count = 0
    for account in ProviderAccount.objects.exclude(credentials_encrypted=""):
        account.credentials_encrypted = credential_rotate(account.credentials_encrypted)
        account.save(update_fields=["credentials_encrypted", "updated_at"])
        count += 1
    return count


# What staff may change on an account (the admin's form shows these and the kind).
EDITABLE_FIELDS = (
    "label",
    "base_url",
    "priority",
    "models_served",
    "model_ids",
    "options",
    "connect_timeout_s",
    "read_timeout_s",
)


def provider_account_update(
    *,
    account: ProviderAccount,
    changes: Mapping[str, Any],
    actor: User | None,
    ip_address: str | None = None,
) -> ProviderAccount:
    """Change an account's settings (not its key or switch: they have their own services)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ProviderAccountInvalid(f"Not editable here: {', '.join(sorted(unknown))}.")
    known = {model.id for model in list_models()}
    bad_models = [model for model in changes.get("models_served", []) if model not in known]
    if bad_models:
        raise ProviderAccountInvalid(f"Unknown catalog models: {', '.join(bad_models)}.")
    with transaction.atomic():
        locked = ProviderAccount.objects.select_for_update().get(pk=account.pk)
        before = {name: getattr(locked, name) for name in changes}
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save()
        after = {name: getattr(locked, name) for name in changes}
        if before != after:
            audit_record(
                actor=actor,
                action="provider_account.changed",
                target=locked,
                before=before,
                after=after,
                ip_address=ip_address,
            )
    return locked
