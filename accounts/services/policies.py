"""Model access and caps: what a team's and an API key's policy let a request ask for.

A request must pass every policy that applies: the key's (when it came with one) and the team's
whose wallet it is charged to. A refusal names the policy and the rule; the catalog endpoints
and the compose page list only the models every policy allows (``models_allowed``).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from studio_core.errors import ServiceError

from ..models import ApiKey, Team
from ..models.team import AccessPolicy
from .model_names import model_name
from .pricing import SIZE_TIERS


class PolicyRefused(ServiceError):
    code = "policy_refused"
    status = 403


@dataclass(frozen=True)
class NamedPolicy:
    label: str  # "Team Design's policy", "API key “ci”'s policy"
    policy: AccessPolicy


def policies_applying(*, team: Team | None, api_key: ApiKey | None) -> list[NamedPolicy]:
    policies = []
    if api_key is not None:
        policies.append(NamedPolicy(f"API key “{api_key.name}”'s policy", api_key))
    if team is not None:
        policies.append(NamedPolicy(f"Team {team}'s policy", team))
    return policies


def policy_check(
    *,
    policies: Sequence[NamedPolicy],
    model: str,
    size_tier: str,
    num_images: int,
) -> None:
    """Raise ``PolicyRefused`` naming the first policy and rule the request breaks."""
    for named in policies:
        policy = named.policy
        if policy.allowed_models and model not in policy.allowed_models:
            raise PolicyRefused(
                f"{named.label} does not allow {model_name(model)}; allowed: "
                f"{', '.join(model_name(allowed) for allowed in policy.allowed_models)}.",
                field="model",
            )
        if policy.max_size_tier and _tier_rank(size_tier) > _tier_rank(policy.max_size_tier):
            raise PolicyRefused(
                f"{named.label} allows images up to {policy.max_size_tier}; this request is "
                f"{size_tier}. Choose a smaller size.",
                field="size",
            )
        if policy.max_images_per_request and num_images > policy.max_images_per_request:
            raise PolicyRefused(
                f"{named.label} allows at most {policy.max_images_per_request} images per "
                f"request; this one asks for {num_images}.",
                field="num_images",
            )


def models_allowed(model_ids: Iterable[str], policies: Sequence[NamedPolicy]) -> list[str]:
    """The ``model_ids`` every policy allows, in their order."""
    return [
        model_id
        for model_id in model_ids
        if all(
            not named.policy.allowed_models or model_id in named.policy.allowed_models
            for named in policies
        )
    ]


def _tier_rank(tier: str) -> int:
    # "" is an adaptive size, which the models keep near 1K.
    return SIZE_TIERS.index(tier) if tier in SIZE_TIERS else 0


# The largest counts a policy may hold: more images than any model makes, more generations at
# once than an installation runs, are mistakes (and would not fit the database's columns).
MAX_IMAGES_PER_REQUEST = 15
MAX_RUNNING = 10_000


def count_limit_errors(**counts: int | None) -> dict[str, list[str]]:
    """Field errors of the count limits given (``max_images_per_request``, ``max_running``):
    empty for no limit, else from 1 to the largest that makes sense."""
    ceilings = {"max_images_per_request": MAX_IMAGES_PER_REQUEST, "max_running": MAX_RUNNING}
    errors: dict[str, list[str]] = {}
    for name, value in counts.items():
        if value is not None and not 1 <= value <= ceilings[name]:
            errors[name] = [
                f"Leave it empty for no limit, or give a number from 1 to {ceilings[name]:,}."
            ]
    return errors


def policy_validate(
    *,
    allowed_models: Sequence[str],
    max_size_tier: str,
    known: Iterable[str],
    max_images_per_request: int | None = None,
    max_running: int | None = None,
) -> dict[str, list[str]]:
    """Field errors of a policy being saved (unknown models, unknown tier, counts out of range)."""
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(allowed_models) - set(known))
    if unknown:
        errors["allowed_models"] = [f"Unknown models: {', '.join(unknown)}."]
    if max_size_tier and max_size_tier not in SIZE_TIERS:
        errors["max_size_tier"] = [f"The size tier must be one of {', '.join(SIZE_TIERS)}."]
    errors.update(
        count_limit_errors(max_images_per_request=max_images_per_request, max_running=max_running)
    )
    return errors
