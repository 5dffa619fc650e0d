"""Budgets: which apply, their periods, their refusals, their releases and their alerts."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from accounts.ledger import ledger_mismatches
from accounts.models import AuditEvent, Budget, BudgetAlert, BudgetSpend, Period
from accounts.services.budget_admin import BudgetInvalid, budget_set
from accounts.services.budgets import (
    BudgetExceeded,
    budget_standings,
    budgets_applying,
    budgets_hold,
    period_bounds,
)
from accounts.services.credits import credit_account_for, team_wallet_for
from accounts.services.keys import api_key_create
from accounts.services.teams import team_member_set
from generations.catalog import GenerationSpec
from generations.models import Generation
from generations.services import generation_cancel, generation_submit
from generations.services.lifecycle import generation_finish, generation_start
from tests.conftest import funded_user
from tests.factories import BudgetFactory, GenerationFactory, OutputImageFactory, TeamFactory

pytestmark = pytest.mark.django_db

PRICE = 30  # seedream-4.0 per 1K image


@pytest.fixture
def tasks_not_sent(monkeypatch):
    monkeypatch.setattr("generations.tasks.run_generation_task.apply_async", lambda **kwargs: None)


@pytest.fixture
def design(default_prices):
    team = TeamFactory(name="Design", slug="design", credits=100_000)
    return team


@pytest.fixture
def member(design):
    user = funded_user(1_000)
    team_member_set(team=design, user=user, role="member", actor=None)
    return user


def submit(user, *, wallet=None, api_key=None, num_images=1):
    return generation_submit(
        user=user,
        spec=GenerationSpec(
            model="seedream-4.0", prompt="a lighthouse", size="1K", num_images=num_images
        ),
        wallet=wallet,
        api_key=api_key,
    )


# --- periods -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        (Period.DAY, date(2026, 12, 3), date(2026, 12, 4)),
        (Period.WEEK, date(2026, 11, 30), date(2026, 12, 7)),  # Monday to Monday
        (Period.MONTH, date(2026, 12, 1), date(2027, 1, 1)),
        (Period.NONE, date(2000, 1, 1), None),
    ],
)
def test_periods_follow_the_calendar(period, start, end):
    bounds = period_bounds(period, datetime(2026, 12, 3, 15, 0, tzinfo=ZoneInfo("UTC")))
    assert (bounds.start, bounds.end) == (start, end)


def test_periods_are_days_of_the_installation_time_zone(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    # 20:00 UTC on 31 January is already 1 February in Tokyo.
    at = datetime(2027, 1, 31, 20, 0, tzinfo=ZoneInfo("UTC"))
    assert period_bounds(Period.MONTH, at).start == date(2027, 2, 1)


# --- which budgets apply -----------------------------------------------------------------


def test_a_team_wallet_answers_to_the_team_member_and_key_budgets_not_the_personal_one(
    design, member
):
    key = api_key_create(user=member, name="ci").api_key
    team_budget = budget_set(scope=Budget.Scope.TEAM, team=design, limit=1, actor=None)
    member_budget = budget_set(
        scope=Budget.Scope.MEMBER, team=design, user=member, limit=1, actor=None
    )
    key_budget = budget_set(scope=Budget.Scope.KEY, api_key=key, limit=1, actor=None)
    personal = budget_set(scope=Budget.Scope.USER, user=member, limit=1, actor=None)
    someone_else = budget_set(
        scope=Budget.Scope.MEMBER, team=design, user=funded_user(0), limit=1, actor=None
    )

    on_team = budgets_applying(wallet=team_wallet_for(design), user=member, api_key=key)
    on_own = budgets_applying(wallet=credit_account_for(member), user=member, api_key=key)

    assert on_team == [team_budget, member_budget, key_budget]
    assert on_own == [key_budget, personal]
    assert someone_else not in on_team


# --- refusals ------------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 12, 3, 12, 0, tzinfo=ZoneInfo("UTC")), tick=False)
def test_a_team_budget_refusal_names_the_team_what_is_left_and_whom_to_ask(
    design, member, tasks_not_sent
):
    budget = budget_set(scope=Budget.Scope.TEAM, team=design, limit=50_000, actor=None)
    wallet = team_wallet_for(design)
    # Earlier this month the team spent 49,880 (a generation's hold on the budget).
    with transaction.atomic():
        earlier = GenerationFactory(owner=member, wallet=wallet, credits_held=49_880)
        budgets_hold(generation=earlier, budgets=[budget], amount=49_880)

    with pytest.raises(BudgetExceeded) as refused:
        submit(member, wallet=wallet, num_images=5)

    assert refused.value.status == 402
    assert refused.value.message == (
        "Team Design, monthly budget: 120 of 50,000 credits left until 1 January. "
        "Ask a team manager."
    )
    assert refused.value.details["needed"] == 5 * PRICE
    assert Generation.objects.filter(owner=member).count() == 1  # the earlier one only


@time_machine.travel(datetime(2026, 12, 3, 12, 0, tzinfo=ZoneInfo("UTC")), tick=False)
def test_member_key_and_personal_refusals_name_their_budget(design, member, tasks_not_sent):
    key = api_key_create(user=member, name="ci").api_key
    budget_set(
        scope=Budget.Scope.MEMBER,
        team=design,
        user=member,
        limit=10,
        period=Period.WEEK,
        actor=None,
    )
    budget_set(scope=Budget.Scope.KEY, api_key=key, limit=10, period=Period.DAY, actor=None)
    budget_set(scope=Budget.Scope.USER, user=member, limit=10, period=Period.NONE, actor=None)

    with pytest.raises(BudgetExceeded) as as_member:
        submit(member, wallet=team_wallet_for(design))
    with pytest.raises(BudgetExceeded) as with_key:
        submit(member, api_key=key)
    with pytest.raises(BudgetExceeded) as personal:
        submit(member)

    name = member.get_username()
    assert as_member.value.message == (
        f"{name}'s weekly budget in team Design: 10 of 10 credits left until 7 December. "
        "Ask a team manager."
    )
    assert with_key.value.message.startswith(
        "API key “ci”, daily budget: 10 of 10 credits left until 4 December."
    )
    assert personal.value.message == (
        f"{name}'s personal total budget: 10 of 10 credits left (it does not reset). Ask staff."
    )
    assert not Generation.objects.exists()
    assert not BudgetSpend.objects.filter(spent__gt=0).exists()


def test_a_refused_budget_changes_nothing_anywhere(design, member, tasks_not_sent):
    roomy = budget_set(scope=Budget.Scope.TEAM, team=design, limit=10_000, actor=None)
    budget_set(scope=Budget.Scope.MEMBER, team=design, user=member, limit=PRICE, actor=None)
    wallet = team_wallet_for(design)
    before = (wallet.available, wallet.held)

    with pytest.raises(BudgetExceeded):
        submit(member, wallet=wallet, num_images=2)

    wallet.refresh_from_db()
    assert (wallet.available, wallet.held) == before
    assert budget_standings([roomy])[0].spent == 0


# --- releases ------------------------------------------------------------------------------


def test_a_budget_keeps_what_was_charged_and_gets_the_rest_back(design, member, tasks_not_sent):
    budget = budget_set(scope=Budget.Scope.TEAM, team=design, limit=10_000, actor=None)
    wallet = team_wallet_for(design)
    partial = submit(member, wallet=wallet, num_images=3)
    failed = submit(member, wallet=wallet, num_images=2)
    canceled = submit(member, wallet=wallet, num_images=1)
    assert budget_standings([budget])[0].spent == 6 * PRICE

    for generation in (partial, failed):
        generation_start(generation_id=str(generation.id))
    OutputImageFactory(generation=partial)
    generation_finish(partial)
    generation_finish(failed)
    generation_cancel(generation=canceled, user=member)
    generation_finish(partial)  # a late repeat changes nothing

    assert budget_standings([budget])[0].spent == PRICE
    assert ledger_mismatches() == []


# --- alerts --------------------------------------------------------------------------------


def test_thresholds_are_recorded_once_per_period_with_an_audit_event(
    design, member, tasks_not_sent
):
    budget = budget_set(scope=Budget.Scope.TEAM, team=design, limit=10 * PRICE, actor=None)
    wallet = team_wallet_for(design)

    submit(member, wallet=wallet, num_images=7)  # 70%
    assert not BudgetAlert.objects.exists()
    submit(member, wallet=wallet, num_images=1)  # 80%
    assert list(BudgetAlert.objects.values_list("threshold", "spent")) == [(80, 8 * PRICE)]
    canceled = Generation.objects.filter(num_images=1).get()
    generation_cancel(generation=canceled, user=member)  # back to 70%
    submit(member, wallet=wallet, num_images=3)  # 100%, crossing 80% again

    assert sorted(BudgetAlert.objects.values_list("threshold", flat=True)) == [80, 100]
    events = AuditEvent.objects.filter(action="budget.threshold", target_id=str(budget.pk))
    assert sorted(event.after["threshold"] for event in events) == [80, 100]


def test_budget_limits_are_validated():
    with pytest.raises(BudgetInvalid, match="negative"):
        budget_set(scope=Budget.Scope.TEAM, team=BudgetFactory().team, limit=-1, actor=None)
    with pytest.raises(BudgetInvalid, match="at most 1,000,000,000,000 credits"):
        budget_set(scope=Budget.Scope.TEAM, team=TeamFactory(), limit=10**19, actor=None)
    with pytest.raises(BudgetInvalid, match="percentages"):
        budget_set(scope=Budget.Scope.TEAM, team=TeamFactory(), limit=1, thresholds=[0], actor=None)


@pytest.mark.corrupts_ledger
def test_the_ledger_check_reports_a_budget_period_that_disagrees_with_its_holds(
    design, member, tasks_not_sent
):
    budget = budget_set(scope=Budget.Scope.TEAM, team=design, limit=10_000, actor=None)
    submit(member, wallet=team_wallet_for(design))
    BudgetSpend.objects.filter(budget=budget).update(spent=PRICE + 5)

    problems = [mismatch.problem for mismatch in ledger_mismatches()]

    assert problems == [f"spent is {PRICE + 5} but its generations' holds add up to {PRICE}"]


def test_a_hold_just_after_midnight_goes_to_the_new_period_even_if_the_budgets_were_read_before(
    design, member
):
    budget = budget_set(
        scope=Budget.Scope.TEAM, team=design, limit=10_000, period=Period.DAY, actor=None
    )
    wallet = team_wallet_for(design)
    before = datetime(2026, 12, 3, 23, 59, 59, tzinfo=ZoneInfo("UTC"))
    after = datetime(2026, 12, 4, 0, 0, 1, tzinfo=ZoneInfo("UTC"))
    with transaction.atomic():
        earlier = GenerationFactory(owner=member, wallet=wallet, credits_held=10)
        budgets_hold(generation=earlier, budgets=[budget], amount=10, at=before)
    read = budgets_applying(wallet=wallet, user=member, api_key=None, at=before)
    assert read[0].current_spend_id is not None  # the 3 December row, read at 23:59:59

    with transaction.atomic():
        later = GenerationFactory(owner=member, wallet=wallet, credits_held=20)
        budgets_hold(generation=later, budgets=read, amount=20, at=after)

    spent = dict(BudgetSpend.objects.filter(budget=budget).values_list("period_start", "spent"))
    assert spent == {date(2026, 12, 3): 10, date(2026, 12, 4): 20}
