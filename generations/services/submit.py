import dataclasses
import enum
import hashlib
import json
from collections.abc import Sequence
from typing import Literal

from django.db import IntegrityError, transaction

from accounts.models import ApiKey, CreditAccount, Team, User
from accounts.services.budget_alerts import budget_alerts_record
from accounts.services.budgets import Crossing, budgets_applying, budgets_hold
from accounts.services.credits import credits_hold
from accounts.services.policies import policies_applying, policy_check
from accounts.services.pricing import PriceMissing, Quote, price_quote
from accounts.services.teams import wallet_for_request
from generations.catalog import GenerationSpec, ResolvedSpec, SpecError, validate_spec
from generations.messaging.budget_alerts import budget_alert_enqueue
from generations.messaging.webhooks import webhook_validate
from generations.models import Generation, ReferenceImage
from generations.runtime import dispatch
from generations.runtime.db import after_commit
from generations.services.errors import IdempotencyConflict, ReferenceRejected
from generations.services.images import StoredFile, image_store, reference_check
from generations.services.limits import running_limits_check


class _SharedTeamDefault(enum.Enum):
    WALLET_TEAM = "wallet team"


# ``shared_team``'s default: a team-visible generation is shown to the team whose wallet pays
# (everyone here when a user's own wallet pays); ``None`` shares it with everyone here.
WALLET_TEAM = _SharedTeamDefault.WALLET_TEAM
SharedTeam = Team | None | Literal[_SharedTeamDefault.WALLET_TEAM]


def generation_submit(
    *,
    user: User,
    spec: GenerationSpec,
    references: Sequence[bytes] = (),
    api_key: ApiKey | None = None,
    wallet: CreditAccount | None = None,
    idempotency_key: str = "",
    visibility: str = Generation.Visibility.PRIVATE,
    shared_team: SharedTeam = WALLET_TEAM,
    webhook_url: str = "",
    webhook_events: Sequence[str] | None = None,
) -> Generation:
    """Validate a request, hold its credits, record it and queue it for a worker.

    Raises ``SpecError`` (field -> messages) or ``InsufficientCredits`` before anything is
    charged or created. The same ``idempotency_key`` with the same request returns the first
    generation; with a different request it raises ``IdempotencyConflict``.

    ``wallet`` is the one it is charged to (``wallet_for_request``: by default the key's team's
    when the key is bound to one, else the user's own). The team policies and budgets that apply
    to it are checked and held here too (``PolicyRefused``, ``BudgetExceeded``), and the running
    limits (``TooManyRunning``). ``shared_team`` is the team a team-visible generation is shown
    to: by default the wallet's team, or everyone here when it is charged to a user; ``None``
    shows it to everyone here.
    """
    generation, _replayed = generation_submit_or_replay(
        user=user,
        spec=spec,
        references=references,
        api_key=api_key,
        wallet=wallet,
        idempotency_key=idempotency_key,
        visibility=visibility,
        shared_team=shared_team,
        webhook_url=webhook_url,
        webhook_events=webhook_events,
    )
    return generation


def generation_submit_or_replay(
    *,
    user: User,
    spec: GenerationSpec,
    references: Sequence[bytes] = (),
    api_key: ApiKey | None = None,
    wallet: CreditAccount | None = None,
    idempotency_key: str = "",
    visibility: str = Generation.Visibility.PRIVATE,
    shared_team: SharedTeam = WALLET_TEAM,
    webhook_url: str = "",
    webhook_events: Sequence[str] | None = None,
) -> tuple[Generation, bool]:
    """``generation_submit``, also saying whether the answer is an earlier request's
    generation (True: a replay of ``idempotency_key``, nothing new was held or queued).

    Exactly one of any number of concurrent requests with one key creates the generation: the
    others find it, or lose the race on the unique key and then find it.
    """
    spec = dataclasses.replace(spec, reference_count=len(references))
    errors: dict[str, list[str]] = {}
    try:
        resolved = validate_spec(spec)
    except SpecError as error:
        errors.update(error.errors)
    reference_facts = []
    for position, content in enumerate(references, start=1):
        try:
            reference_facts.append(reference_check(content))
        except ReferenceRejected as error:
            errors.setdefault("references", []).append(f"Reference {position}: {error}")
    if visibility not in Generation.Visibility.values:
        errors["visibility"] = [
            f"Visibility must be one of {', '.join(Generation.Visibility.values)}."
        ]
    webhook_url = webhook_url.strip()
    chosen_events: list[str] = []
    try:
        chosen_events = webhook_validate(url=webhook_url, events=webhook_events)
    except SpecError as error:
        errors.update(error.errors)
    if errors:
        raise SpecError(errors)
    try:
        price = price_quote(spec=resolved)
    except PriceMissing as error:
        raise SpecError({"model": [str(error)]}) from error
    if wallet is None:
        wallet = wallet_for_request(user=user, api_key=api_key)
    team = wallet.team if wallet.team_id is not None else None
    policy_check(
        policies=policies_applying(team=team, api_key=api_key),
        model=resolved.model,
        size_tier=price.size_tier,
        num_images=resolved.num_images,
    )
    if shared_team is WALLET_TEAM:
        # Kept on a private generation too: made visible later, it goes to the same team.
        shared_team = team

    fingerprint = _request_fingerprint(
        params=resolved.as_params(),
        reference_hashes=[facts.sha256 for facts in reference_facts],
        visibility=visibility,
        webhook={"url": webhook_url, "events": chosen_events} if webhook_url else None,
        wallet=wallet,
        shared_team=shared_team,
    )
    if idempotency_key:
        existing = _generation_for_key(user=user, key=idempotency_key, fingerprint=fingerprint)
        if existing is not None:
            return existing, True

    # Files first, rows second: a stored reference is content-addressed, so a rolled-back
    # transaction leaves at most an unreferenced file, never a row without its file.
    stored_references = [
        image_store(content=content, folder="references", facts=facts)
        for content, facts in zip(references, reference_facts, strict=True)
    ]
    try:
        generation = _generation_create(
            user=user,
            api_key=api_key,
            wallet=wallet,
            team=team,
            shared_team=shared_team,
            price=price,
            resolved=resolved,
            stored_references=stored_references,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            visibility=visibility,
            webhook_url=webhook_url,
            webhook_events=chosen_events,
        )
    except IntegrityError:
        # Another request with the same idempotency key committed first: answer with its result.
        existing = _generation_for_key(user=user, key=idempotency_key, fingerprint=fingerprint)
        if existing is None:
            raise
        return existing, True
    return generation, False


def _generation_create(
    *,
    user: User,
    api_key: ApiKey | None,
    wallet: CreditAccount,
    team: Team | None,
    shared_team: Team | None,
    price: Quote,
    resolved: ResolvedSpec,
    stored_references: list[StoredFile],
    idempotency_key: str,
    fingerprint: str,
    visibility: str,
    webhook_url: str,
    webhook_events: list[str],
) -> Generation:
    """The generation, its references, its webhook and its hold, committed together with the
    generation "to dispatch" (``dispatched_at`` empty): the outbox sends it after the commit,
    and again until the broker takes it, so a broker fault never loses an accepted request.

    The rows it locks, always in this order: what has a running limit (user, key, team), the
    budgets' period rows (by budget id), the wallet; the settlement takes the same order."""
    with transaction.atomic(durable=True):
        running_limits_check(user=user, api_key=api_key, team=team)
        generation = Generation.objects.create(
            owner=user,
            api_key=api_key,
            wallet=wallet,
            shared_team=shared_team,
            price_per_image=price.credits_per_image,
            credits_held=price.total,
            model=resolved.model,
            prompt=resolved.prompt,
            params=resolved.as_params(),
            num_images=resolved.num_images,
            seed_requested=resolved.seed,
            visibility=visibility,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
            webhook_url=webhook_url,
            webhook_events=webhook_events,
        )
        ReferenceImage.objects.bulk_create(
            ReferenceImage(
                generation=generation,
                position=position,
                file=stored.name,
                sha256=stored.facts.sha256,
                width=stored.facts.width,
                height=stored.facts.height,
                format=stored.facts.format,
                bytes=stored.facts.bytes,
            )
            for position, stored in enumerate(stored_references)
        )
        # The price of every image it may deliver, on every budget that applies and then on the
        # wallet; BudgetExceeded or InsufficientCredits rolls the submit back.
        crossings = budgets_hold(
            generation=generation,
            budgets=budgets_applying(wallet=wallet, user=user, api_key=api_key),
            amount=generation.credits_held,
        )
        credits_hold(amount=generation.credits_held, generation=generation)
        after_commit(dispatch.generation_dispatch, generation_id=str(generation.id))
        _alerts_schedule(crossings)
    return generation


def _alerts_schedule(crossings: list[Crossing]) -> None:
    """Audit each threshold crossed now, and deliver its mail and webhook after the commit."""
    budget_alerts_record(crossings)
    for crossing in crossings:
        after_commit(budget_alert_enqueue, alert_id=crossing.alert.pk)


def _request_fingerprint(
    *,
    params: dict,
    reference_hashes: list[str],
    visibility: str,
    webhook: dict | None,
    wallet: CreditAccount,
    shared_team: Team | None,
) -> str:
    request: dict = {"params": params, "references": reference_hashes, "visibility": visibility}
    # Only when given, so requests without a webhook or a team keep the fingerprints they had.
    if webhook is not None:
        request["webhook"] = webhook
    if wallet.team_id is not None:
        request["wallet"] = wallet.pk
    if shared_team is not None:
        request["shared_team"] = shared_team.pk
    payload = json.dumps(request, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _generation_for_key(*, user: User, key: str, fingerprint: str) -> Generation | None:
    existing = Generation.objects.filter(owner=user, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(key)
    return existing
