"""Comparison runs: one prompt (and its references) on several models, one generation each.

Every generation goes through ``generation_submit``, so each is validated, policy-checked,
budget-held and charged exactly as if it had been asked for alone.

All-or-nothing holds once a run has started are not possible: ``generation_submit`` holds in
its own ``transaction.atomic(durable=True)``, which cannot nest inside an outer transaction (a
hold's commit is what lets the worker start). So a run is all-or-nothing at *validation*: every
model's request is checked against the catalog, the prices and the policies before anything is
held, and one refusal names its model and stops the run. A refusal that only the hold can find
(the balance or a budget runs out part-way, a running limit is reached) leaves the generations
already started running; the models not started are kept on the comparison with the reason
(``Comparison.refusals``), and if none could start nothing is kept and the first refusal is
raised, as for a single generation.
"""

import dataclasses
import hashlib
import json
from collections.abc import Sequence

from django.db import IntegrityError, transaction

from accounts.models import ApiKey, CreditAccount, Team, User
from accounts.services.policies import policy_check
from accounts.services.pricing import price_quote
from accounts.services.teams import wallet_for_request
from generations.catalog import GenerationSpec, SpecError, get_model, list_models, validate_spec
from generations.models import Comparison, ComparisonEntry, Generation
from generations.services.access import caller_policies
from generations.services.errors import IdempotencyConflict
from generations.services.submit import WALLET_TEAM, SharedTeam, generation_submit
from generations.services.visibility import generation_visibility_set
from studio_core.errors import ServiceError

# At least two models make a comparison; at most every model of the catalog, each once.
MIN_MODELS = 2


class ComparisonNotYours(ServiceError):
    code = "permission_denied"
    status = 403

    def __init__(self) -> None:
        super().__init__("Only the person who ran this comparison can change who sees it.")


@dataclasses.dataclass(frozen=True)
class ComparisonRun:
    """What ``comparison_run`` answers: the comparison, and whether it is an earlier request's
    (``replayed``: the same idempotency key, nothing new was held)."""

    comparison: Comparison
    replayed: bool = False

    @property
    def refusals(self) -> list[dict[str, str]]:
        return list(self.comparison.refusals)


def _model_label(model_id: str) -> str:
    return get_model(model_id).label


def _models_check(models: Sequence[str]) -> list[str]:
    known = {model.id for model in list_models()}
    chosen: list[str] = []
    problems: list[str] = []
    for model in models:
        if model not in known:
            problems.append(f"Unknown model “{model}”; known models: {', '.join(sorted(known))}.")
        elif model in chosen:
            problems.append(f"{_model_label(model)} is chosen twice; choose each model once.")
        else:
            chosen.append(model)
    if not problems and len(chosen) < MIN_MODELS:
        problems.append(f"Choose at least {MIN_MODELS} models to compare.")
    if problems:
        raise SpecError({"models": problems})
    return chosen


def comparison_validate(
    *,
    user: User,
    spec: GenerationSpec,
    models: Sequence[str],
    reference_count: int,
    wallet: CreditAccount,
    api_key: ApiKey | None = None,
) -> list[str]:
    """The models in order, once each, every one's request valid for the catalog, priced and
    allowed by the policies of ``wallet``; else ``SpecError`` with one message per refused
    model, each naming it ("Seedream 4.5: …"). Nothing is held."""
    chosen = _models_check(models)
    policies = caller_policies(user=user, api_key=api_key, wallet=wallet)
    errors: dict[str, list[str]] = {}
    for model in chosen:
        label = _model_label(model)
        try:
            resolved = validate_spec(
                dataclasses.replace(spec, model=model, reference_count=reference_count)
            )
            quote = price_quote(spec=resolved)
            policy_check(
                policies=policies,
                model=resolved.model,
                size_tier=quote.size_tier,
                num_images=resolved.num_images,
            )
        except SpecError as error:
            for field, messages in error.errors.items():
                errors.setdefault(field, []).extend(f"{label}: {text}" for text in messages)
        except ServiceError as error:
            errors.setdefault(error.field or "models", []).append(f"{label}: {error.message}")
    if errors:
        raise SpecError(errors)
    return chosen


def comparison_run(
    *,
    user: User,
    prompt: str,
    models: Sequence[str],
    references: Sequence[bytes] = (),
    wallet: CreditAccount | None = None,
    api_key: ApiKey | None = None,
    size: str = "",
    aspect_ratio: str = "",
    num_images: int = 1,
    seed: int | None = None,
    guidance_scale: float | None = None,
    visibility: str = Comparison.Visibility.PRIVATE,
    shared_team: SharedTeam = WALLET_TEAM,
    idempotency_key: str = "",
) -> ComparisonRun:
    """Run ``prompt`` on each of ``models``: one generation per model, in that order.

    Raises ``SpecError`` (every refused model named) before anything is held or created. Once
    validated, each model is submitted in turn; a refusal at the hold (credits, a budget, a
    running limit) is recorded on the comparison and the next model is tried. When no model
    could start, nothing is kept and that refusal is raised. The same ``idempotency_key`` with
    the same request answers the first comparison; with another request ``IdempotencyConflict``.

    ``visibility`` and ``shared_team`` apply to the comparison and to each of its generations,
    so a teammate who may open it sees every column.
    """
    if wallet is None:
        wallet = wallet_for_request(user=user, api_key=api_key)
    if shared_team is WALLET_TEAM:
        shared_team = wallet.team if wallet.team_id is not None else None
    if visibility not in Comparison.Visibility.values:
        raise SpecError(
            {
                "visibility": [
                    f"Visibility must be one of {', '.join(Comparison.Visibility.values)}."
                ]
            }
        )
    spec = GenerationSpec(
        model="",
        prompt=prompt,
        size=size,
        aspect_ratio=aspect_ratio,
        num_images=num_images,
        seed=seed,
        guidance_scale=guidance_scale,
    )
    chosen = comparison_validate(
        user=user,
        spec=spec,
        models=models,
        reference_count=len(references),
        wallet=wallet,
        api_key=api_key,
    )
    fingerprint = _request_fingerprint(
        spec=spec,
        models=chosen,
        references=references,
        visibility=visibility,
        wallet=wallet,
        shared_team=shared_team,
    )
    if idempotency_key:
        existing = _comparison_for_key(user=user, key=idempotency_key, fingerprint=fingerprint)
        if existing is not None:
            return ComparisonRun(comparison=existing, replayed=True)
    try:
        with transaction.atomic(durable=True):
            comparison = Comparison.objects.create(
                owner=user,
                prompt=prompt,
                models_requested=chosen,
                visibility=visibility,
                team=shared_team,
                idempotency_key=idempotency_key,
                request_fingerprint=fingerprint,
            )
    except IntegrityError:
        # A concurrent request with the same key created it first: answer with that one.
        existing = _comparison_for_key(user=user, key=idempotency_key, fingerprint=fingerprint)
        if existing is None:
            raise
        return ComparisonRun(comparison=existing, replayed=True)
    return ComparisonRun(
        comparison=_comparison_submit_each(
            comparison=comparison,
            spec=spec,
            references=references,
            wallet=wallet,
            api_key=api_key,
            shared_team=shared_team,
        )
    )


def _comparison_submit_each(
    *,
    comparison: Comparison,
    spec: GenerationSpec,
    references: Sequence[bytes],
    wallet: CreditAccount,
    api_key: ApiKey | None,
    shared_team: Team | None,
) -> Comparison:
    """Submit one generation per model of ``comparison``; see ``comparison_run``."""
    refusals: list[dict[str, str]] = []
    first_refusal: ServiceError | None = None
    started = 0
    for position, model in enumerate(comparison.models_requested):
        try:
            generation = generation_submit(
                user=comparison.owner,
                spec=dataclasses.replace(spec, model=model),
                references=references,
                api_key=api_key,
                wallet=wallet,
                visibility=comparison.visibility,
                shared_team=shared_team,
            )
        except ServiceError as error:
            first_refusal = first_refusal or error
            refusals.append({"model": model, "code": error.code, "message": error.message})
            continue
        ComparisonEntry.objects.create(
            comparison=comparison, generation=generation, position=position
        )
        started += 1
    if not started:
        comparison.delete()
        assert first_refusal is not None
        raise first_refusal
    if refusals:
        comparison.refusals = refusals
        comparison.save(update_fields=["refusals"])
    return comparison


def comparison_visibility_set(*, comparison: Comparison, user: User, visibility: str) -> None:
    """Share a comparison with its team, or keep it to its owner (the owner only).

    Its generations follow where the owner may change them, since a shared comparison whose
    columns stay private would show a teammate nothing."""
    if comparison.owner_id != user.pk:
        raise ComparisonNotYours()
    if visibility not in Comparison.Visibility.values:
        raise SpecError(
            {
                "visibility": [
                    f"Visibility must be one of {', '.join(Comparison.Visibility.values)}."
                ]
            }
        )
    generations = Generation.objects.filter(
        comparison_entry__comparison=comparison, deleted_at__isnull=True
    )
    for generation in generations:
        generation_visibility_set(generation=generation, user=user, visibility=visibility)
    with transaction.atomic():
        comparison.visibility = visibility
        comparison.save(update_fields=["visibility"])


def _request_fingerprint(
    *,
    spec: GenerationSpec,
    models: list[str],
    references: Sequence[bytes],
    visibility: str,
    wallet: CreditAccount,
    shared_team: Team | None,
) -> str:
    request = {
        "spec": dataclasses.asdict(spec),
        "models": models,
        "references": [hashlib.sha256(content).hexdigest() for content in references],
        "visibility": visibility,
        "wallet": wallet.pk,
        "shared_team": shared_team.pk if shared_team is not None else None,
    }
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def _comparison_for_key(*, user: User, key: str, fingerprint: str) -> Comparison | None:
    existing = Comparison.objects.filter(owner=user, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(key)
    return existing
