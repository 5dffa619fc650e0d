"""API keys: issued once, stored as a hash, checked in constant time, revocable at once.

A key reads ``sds_<prefix>_<secret>``: the 12-hex-digit prefix finds the row (and is safe to
show), the 256-bit secret is never stored; only sha256 of the whole key is.
"""

import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from studio_core.errors import ServiceError

from ..models import ApiKey, User
from .audit import audit_record
from .key_usage import LAST_USED_RESOLUTION, api_key_usage_record

KEY_SCHEME = "sds_"
PREFIX_LENGTH = 12


class ApiKeyInvalid(ServiceError):
    """The key cannot authenticate; the message says why and what to do."""

    code = "authentication_failed"
    status = 401


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    key: str  # the full key: shown to its owner once, never stored


def _hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(
    *,
    user: User,
    name: str,
    expires_at: datetime | None = None,
    actor: User | None = None,
    ip_address: str | None = None,
) -> IssuedKey:
    name = name.strip()
    if not name:
        raise ValueError("Give the key a name, e.g. the script or machine that will use it.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("The expiry date must be in the future.")
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    raw_key = f"{KEY_SCHEME}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            user=user,
            name=name[:100],
            prefix=prefix,
            secret_hash=_hash(raw_key),
            expires_at=expires_at,
        )
        audit_record(
            actor=actor or user,
            action="api_key.created",
            target=api_key,
            after={
                "user": user.get_username(),
                "name": api_key.name,
                "prefix": prefix,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
            ip_address=ip_address,
        )
    return IssuedKey(api_key=api_key, key=raw_key)


def api_key_revoke(*, api_key: ApiKey, actor: User | None, ip_address: str | None = None) -> ApiKey:
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            audit_record(
                actor=actor,
                action="api_key.revoked",
                target=locked,
                before={"revoked_at": None},
                after={"revoked_at": locked.revoked_at.isoformat(), "prefix": locked.prefix},
                ip_address=ip_address,
            )
    return locked


def api_keys_revoke_for_user(
    *, user: User, actor: User | None, ip_address: str | None = None
) -> int:
    """Revoke every key of ``user`` not revoked yet (offboarding); each revocation is audited."""
    keys = list(ApiKey.objects.filter(user=user, revoked_at__isnull=True).order_by("pk"))
    for api_key in keys:
        api_key_revoke(api_key=api_key, actor=actor, ip_address=ip_address)
    return len(keys)


def api_key_authenticate(*, raw_key: str) -> ApiKey:
    """The active key matching ``raw_key``; raises ``ApiKeyInvalid`` naming the problem."""
    prefix = _prefix_of(raw_key)
    api_key = None
    if prefix:
        with contextlib.suppress(ApiKey.DoesNotExist):
            api_key = ApiKey.objects.select_related("user").get(prefix=prefix)  # unique
    # Compare against a dummy hash when the prefix is unknown, so timing says nothing either way.
    expected = api_key.secret_hash if api_key is not None else _hash("unknown")
    if not hmac.compare_digest(expected, _hash(raw_key)) or api_key is None:
        raise ApiKeyInvalid("The API key is not valid. Create a key on /account/keys/.")
    if api_key.is_revoked:
        raise ApiKeyInvalid("The API key has been revoked. Create a new key on /account/keys/.")
    if api_key.is_expired():
        raise ApiKeyInvalid("The API key has expired. Create a new key on /account/keys/.")
    if not api_key.user.is_active:
        raise ApiKeyInvalid("The account that owns this API key is disabled.")
    return api_key


def api_key_mark_used(*, api_key: ApiKey) -> None:
    """Note a use of the key, to the minute; with a shared cache no database write (key_usage)."""
    now = timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    api_key_usage_record(api_key=api_key, at=now)


def _prefix_of(raw_key: str) -> str:
    if not raw_key.startswith(KEY_SCHEME):
        return ""
    rest = raw_key[len(KEY_SCHEME) :]
    prefix, separator, _ = rest.partition("_")
    return prefix if separator and len(prefix) == PREFIX_LENGTH else ""
