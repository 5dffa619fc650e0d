"""The catalog as one caller may use it: only the models, size tiers and image counts that the
policies applying to them allow (their key's, and the team they charge), for the catalog
endpoints and the compose page."""

from typing import Any

from accounts.models import ApiKey, CreditAccount, User
from accounts.services.policies import NamedPolicy, policies_applying
from accounts.services.pricing import SIZE_TIERS
from accounts.services.teams import wallet_for_request
from generations.catalog import CatalogModel, list_models


def caller_policies(
    *, user: User, api_key: ApiKey | None, wallet: CreditAccount | None = None
) -> list[NamedPolicy]:
    if wallet is None:
        wallet = wallet_for_request(user=user, api_key=api_key)
    team = wallet.team if wallet.team_id is not None else None
    return policies_applying(team=team, api_key=api_key)


def catalog_for(policies: list[NamedPolicy]) -> list[dict[str, Any]]:
    """Each allowed model's ``as_dict()``, its tiers and outputs narrowed to what is allowed."""
    allowed = []
    for model in list_models():
        if any(
            named.policy.allowed_models and model.id not in named.policy.allowed_models
            for named in policies
        ):
            continue
        allowed.append(_narrowed(model, policies))
    return allowed


def _narrowed(model: CatalogModel, policies: list[NamedPolicy]) -> dict[str, Any]:
    data = model.as_dict()
    for named in policies:
        policy = named.policy
        if policy.max_size_tier in SIZE_TIERS:
            ceiling = SIZE_TIERS.index(policy.max_size_tier)
            data["size_tiers"] = [
                tier
                for tier in data["size_tiers"]
                if tier not in SIZE_TIERS or SIZE_TIERS.index(tier) <= ceiling
            ]
            data["tier_dimensions"] = {
                tier: sizes
                for tier, sizes in data["tier_dimensions"].items()
                if tier in data["size_tiers"]
            }
            if (
                data["default_size"] in SIZE_TIERS
                and data["default_size"] not in data["size_tiers"]
            ):
                data["default_size"] = data["size_tiers"][-1] if data["size_tiers"] else ""
        if policy.max_images_per_request:
            data["max_outputs"] = min(data["max_outputs"], policy.max_images_per_request)
    return data
