"""Comparison runs: one generation per model, each validated, held and charged as usual; a
refusal before anything is held names its model; one at the hold leaves the others running."""

import pytest
from django.db import transaction

from accounts.models import Budget
from accounts.services.budget_admin import budget_set
from accounts.services.budgets import BudgetExceeded, budgets_hold
from accounts.services.credits import InsufficientCredits, credit_account_for, team_wallet_for
from accounts.services.teams import team_member_set
from generations.catalog import SpecError
from generations.models import Comparison, ComparisonEntry, Generation
from generations.selectors.comparisons import comparison_get_visible
from generations.services.comparisons import (
    ComparisonNotYours,
    comparison_run,
    comparison_visibility_set,
)
from generations.services.errors import IdempotencyConflict
from tests.conftest import funded_user
from tests.factories import GenerationFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

MODELS = ["seedream-4.0", "seedream-5.0-lite", "dreamina-3.1"]
# Per image at each default size (accounts 0003): 30 + 35 + 30.
PRICES = {"seedream-4.0": 30, "seedream-5.0-lite": 35, "dreamina-3.1": 30}


@pytest.fixture(autouse=True)
def tasks_not_sent(monkeypatch):
    """Generations stay queued: these tests are about the run and its holds, not the worker."""
    monkeypatch.setattr("generations.tasks.run_generation_task.apply_async", lambda **kwargs: None)


def run(user, **overrides):
    arguments = {"user": user, "prompt": "a lighthouse at dusk", "models": MODELS}
    return comparison_run(**(arguments | overrides))


def test_one_generation_per_model_each_held_in_column_order(default_prices):
    user = funded_user(1_000)

    result = run(user)

    comparison = result.comparison
    assert not result.replayed
    assert comparison.refusals == []
    entries = list(
        ComparisonEntry.objects.filter(comparison=comparison).select_related("generation")
    )
    assert [entry.generation.model for entry in entries] == MODELS
    assert [entry.position for entry in entries] == [0, 1, 2]
    for entry in entries:
        generation = entry.generation
        assert generation.prompt == "a lighthouse at dusk"
        assert generation.num_images == 1
        assert generation.status == Generation.Status.QUEUED
        assert generation.credits_held == PRICES[generation.model]
    wallet = credit_account_for(user)
    assert wallet.held == sum(PRICES.values())
    assert wallet.available == 1_000 - sum(PRICES.values())


def test_a_model_that_refuses_the_request_is_named_and_nothing_is_held(default_prices):
    user = funded_user(1_000)

    # 1024x1024 is below Seedream 4.5's minimum pixels; Seedream 4.0 accepts it.
    with pytest.raises(SpecError) as refused:
        run(user, models=["seedream-4.0", "seedream-4.5"], size="1024x1024")

    messages = [text for texts in refused.value.errors.values() for text in texts]
    assert len(messages) == 1
    assert messages[0].startswith("Seedream 4.5: ")
    assert not Generation.objects.exists()
    assert not Comparison.objects.exists()
    assert credit_account_for(user).held == 0


@pytest.mark.parametrize(
    ("models", "problem"),
    [
        (["seedream-4.0"], "Choose at least 2 models to compare."),
        (["seedream-4.0", "seedream-4.0"], "Seedream 4.0 is chosen twice; choose each model once."),
        (["seedream-4.0", "midjourney"], "Unknown model “midjourney”"),
    ],
)
def test_the_models_are_checked_first(default_prices, models, problem):
    with pytest.raises(SpecError) as refused:
        run(funded_user(1_000), models=models)
    assert refused.value.errors["models"][0].startswith(problem)
    assert not Generation.objects.exists()


def test_credits_running_out_part_way_keep_the_started_ones_and_name_the_rest(default_prices):
    user = funded_user(65)  # Seedream 4.0 (30) fits, then 5.0 Lite (35) does, Dreamina not

    comparison = run(user).comparison

    assert [entry.generation.model for entry in comparison.entries.all()] == MODELS[:2]
    assert comparison.refusals == [
        {
            "model": "dreamina-3.1",
            "code": "insufficient_credits",
            "message": InsufficientCredits(needed=30, available=0).message,
        }
    ]
    assert credit_account_for(user).held == 65


def test_when_no_model_can_start_nothing_is_kept_and_the_refusal_is_raised(default_prices):
    user = funded_user(10)

    with pytest.raises(InsufficientCredits):
        run(user)

    assert not Comparison.objects.exists()
    assert not Generation.objects.exists()


def test_a_team_budget_refusal_names_the_model_not_started(default_prices):
    team = TeamFactory(name="Design", slug="design", credits=10_000)
    member = funded_user(0)
    team_member_set(team=team, user=member, role="member", actor=None)
    budget = budget_set(scope=Budget.Scope.TEAM, team=team, limit=100, actor=None)
    wallet = team_wallet_for(team)
    with transaction.atomic():
        earlier = GenerationFactory(owner=member, wallet=wallet, credits_held=40)
        budgets_hold(generation=earlier, budgets=[budget], amount=40)

    comparison = run(member, wallet=wallet, models=["seedream-4.0", "seedream-5.0-lite"])

    assert [entry.generation.model for entry in comparison.comparison.entries.all()] == [
        "seedream-4.0"
    ]
    (refusal,) = comparison.refusals
    assert refusal["model"] == "seedream-5.0-lite"
    assert refusal["code"] == BudgetExceeded.code


def test_the_same_key_answers_the_first_comparison_and_another_request_conflicts(default_prices):
    user = funded_user(1_000)
    first = run(user, idempotency_key="k1")

    again = run(user, idempotency_key="k1")

    assert again.replayed
    assert again.comparison.pk == first.comparison.pk
    assert Generation.objects.count() == 3
    with pytest.raises(IdempotencyConflict):
        run(user, idempotency_key="k1", prompt="something else")


def test_visibility_follows_the_board_rules_and_reaches_each_generation(default_prices):
    team = TeamFactory(name="Design", slug="design", credits=10_000)
    owner, teammate, outsider = funded_user(0), UserFactory(), UserFactory()
    for person in (owner, teammate):
        team_member_set(team=team, user=person, role="member", actor=None)
    wallet = team_wallet_for(team)

    private = run(owner, wallet=wallet).comparison
    shared = run(owner, wallet=wallet, visibility="team", prompt="a shared lighthouse").comparison

    assert shared.team == team
    assert set(
        Generation.objects.filter(comparison_entry__comparison=shared).values_list(
            "visibility", "shared_team"
        )
    ) == {("team", team.pk)}
    assert comparison_get_visible(user=owner, comparison_id=str(private.pk)) is not None
    assert comparison_get_visible(user=teammate, comparison_id=str(private.pk)) is None
    seen = comparison_get_visible(user=teammate, comparison_id=str(shared.pk))
    assert seen is not None
    assert len(seen.entries.all()) == 3
    assert comparison_get_visible(user=outsider, comparison_id=str(shared.pk)) is None

    comparison_visibility_set(comparison=private, user=owner, visibility="team")
    seen = comparison_get_visible(user=teammate, comparison_id=str(private.pk))
    assert seen is not None
    assert len(seen.entries.all()) == 3


def test_only_the_owner_changes_who_sees_a_comparison(default_prices):
    owner = funded_user(1_000)
    comparison = run(owner).comparison
    with pytest.raises(ComparisonNotYours, match="Only the person who ran this comparison"):
        comparison_visibility_set(comparison=comparison, user=UserFactory(), visibility="team")
