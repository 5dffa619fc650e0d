"""API keys: issued once, stored as a hash, checked in constant time, revocable at once.

A key reads ``sds_<prefix>_<secret>``: the 12-hex-digit prefix finds the row (and is safe to
show), the 256-bit secret is never stored; only sha256 of the whole key is.

A key may be bound to one of its owner's teams (then it always charges that team's wallet) and
carry its own policy, running limit and budget; only its owner and staff change them.
"""

import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from studio_core.errors import ServiceError

from ..models import ApiKey, Budget, Membership, Period, Team, User
from .audit import audit_record
from .budget_admin import BudgetInvalid, budget_remove, budget_set
from .key_usage import LAST_USED_RESOLUTION, api_key_usage_record
from .policies import policy_validate
from .pricing import priceable_models

KEY_SCHEME = "sds_"
PREFIX_LENGTH = 12


class ApiKeyInvalid(ServiceError):
    """The key cannot authenticate; the message says why and what to do."""

    code = "authentication_failed"
    status = 401


class ApiKeyTeamRefused(ServiceError):
    """The team a key is to charge is not one of its owner's."""

    code = "invalid_team"
    status = 400


class ApiKeySettingsInvalid(ServiceError):
    """A key's policy, running limit or budget that cannot be saved; names the field."""

    code = "invalid_request"
    status = 400


class NotKeyOwner(ServiceError):
    code = "permission_denied"
    status = 403


@dataclass(frozen=True)
class KeyPolicy:
    """What a key's generations may ask for (``AccessPolicy``); empty fields allow everything."""

    allowed_models: tuple[str, ...] = ()
    max_size_tier: str = ""
    max_images_per_request: int | None = None
    max_running: int | None = None

    def as_fields(self) -> dict[str, Any]:
        return {
            "allowed_models": list(self.allowed_models),
            "max_size_tier": self.max_size_tier,
            "max_images_per_request": self.max_images_per_request,
            "max_running": self.max_running,
        }


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
    team: Team | None = None,
    policy: KeyPolicy | None = None,
    actor: User | None = None,
    ip_address: str | None = None,
) -> IssuedKey:
    """Issue a key to ``user``; with ``team`` (one of theirs) it always charges that team.

    ``ValueError`` for a missing name or a past expiry, ``ApiKeyTeamRefused`` for a team the
    user is not a member of, ``ApiKeySettingsInvalid`` for a policy that cannot be saved.
    """
    name = name.strip()
    if not name:
        raise ValueError("Give the key a name, e.g. the script or machine that will use it.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("The expiry date must be in the future.")
    if team is not None and not Membership.objects.filter(team=team, user=user).exists():
        raise api_key_team_refusal(user=user, slug=team.slug)
    policy = policy or KeyPolicy()
    _policy_check(policy)
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    raw_key = f"{KEY_SCHEME}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            user=user,
            name=name[:100],
            prefix=prefix,
            secret_hash=_hash(raw_key),
            expires_at=expires_at,
            team=team,
            **policy.as_fields(),
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
                "team": team.slug if team else None,
                **policy.as_fields(),
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
            api_key = ApiKey.objects.select_related("user", "team").get(prefix=prefix)  # unique
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


# --- A key's team, policy, running limit and budget ------------------------------------------


def api_key_team_refusal(*, user: User, slug: str) -> ApiKeyTeamRefused:
    """The error for a key asked to charge ``slug``, a team ``user`` is not in (or none such:
    the answer is the same, so it tells nothing about teams one is not in)."""
    yours = ", ".join(
        Team.objects.filter(memberships__user=user)
        .order_by("name", "id")
        .values_list("slug", flat=True)
    )
    return ApiKeyTeamRefused(
        f"A key can charge only a team you belong to, and you are not a member of “{slug}” "
        f"(your teams: {yours or 'none'}). Leave it empty to charge your own credits.",
        field="team",
    )


def api_key_team_for(*, user: User, slug: str) -> Team | None:
    """The team of ``user``'s named by ``slug`` (None for an empty slug); raises
    ``ApiKeyTeamRefused`` for any other."""
    slug = slug.strip()
    if not slug:
        return None
    team = Team.objects.filter(slug=slug, memberships__user=user).first()
    if team is None:
        raise api_key_team_refusal(user=user, slug=slug)
    return team


def api_key_can_manage(*, api_key: ApiKey, user: User) -> bool:
    """A key's owner and staff set its policy, running limit and budget."""
    return user.is_authenticated and (user.is_staff or api_key.user_id == user.pk)


def _manage_check(*, api_key: ApiKey, actor: User) -> None:
    if not api_key_can_manage(api_key=api_key, user=actor):
        raise NotKeyOwner(f"Only the owner of API key “{api_key.name}” and staff can change it.")
    # Read again: the caller's copy may predate a revocation.
    if ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=False).exists():
        raise ApiKeySettingsInvalid(
            f"API key “{api_key.name}” is revoked: nothing can be made with it any more."
        )


def _policy_check(policy: KeyPolicy) -> None:
    known = [model_id for model_id, _ in priceable_models()]
    errors = policy_validate(
        allowed_models=policy.allowed_models,
        max_size_tier=policy.max_size_tier,
        known=known,
        max_images_per_request=policy.max_images_per_request,
        max_running=policy.max_running,
    )
    if errors:
        field, [message, *_] = next(iter(errors.items()))
        raise ApiKeySettingsInvalid(message, field=field, details={"fields": errors})


def api_key_policy_set(
    *,
    api_key: ApiKey,
    actor: User,
    allowed_models: Sequence[str] = (),
    max_size_tier: str = "",
    max_images_per_request: int | None = None,
    max_running: int | None = None,
    ip_address: str | None = None,
) -> ApiKey:
    """Set what the key's generations may ask for and how many may run at once (audited).

    Takes effect on the key's next request; generations already made keep going.
    """
    _manage_check(api_key=api_key, actor=actor)
    policy = KeyPolicy(
        allowed_models=tuple(dict.fromkeys(allowed_models)),
        max_size_tier=max_size_tier,
        max_images_per_request=max_images_per_request,
        max_running=max_running,
    )
    _policy_check(policy)
    after = policy.as_fields()
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        before = {field: getattr(locked, field) for field in after}
        if before == after:
            return locked
        for field, value in after.items():
            setattr(locked, field, value)
        locked.save(update_fields=list(after))
        audit_record(
            actor=actor,
            action="api_key.policy_set",
            target=locked,
            before=before,
            after=after,
            ip_address=ip_address,
        )
    for field, value in after.items():
        setattr(api_key, field, value)
    return locked


def api_key_budget_set(
    *, api_key: ApiKey, actor: User, limit: int, period: str = Period.MONTH
) -> Budget:
    """Give the key a budget (or change it): what it may spend per period, on any wallet."""
    _manage_check(api_key=api_key, actor=actor)
    try:
        return budget_set(
            scope=Budget.Scope.KEY, api_key=api_key, limit=limit, period=period, actor=actor
        )
    except BudgetInvalid as error:
        field = "period" if "period" in str(error) else "limit"
        raise ApiKeySettingsInvalid(str(error), field=field) from error


def api_key_budget_remove(*, api_key: ApiKey, actor: User) -> None:
    """Take the key's budget away (a no-op when it has none)."""
    _manage_check(api_key=api_key, actor=actor)
    budget = Budget.objects.filter(scope=Budget.Scope.KEY, api_key=api_key).first()
    if budget is not None:
        budget_remove(budget=budget, actor=actor)
