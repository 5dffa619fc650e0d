"""Every budget that applies holds under any concurrency, like the balance does (PostgreSQL).

Hundreds of submits at once against a team's budget, members' budgets and a key's budget accept
exactly what the budgets afford; the periods' ``spent`` counters, the holds and the ledger agree;
a release after the month has ended goes back to the month it was held in.
"""

import threading
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.db.models import Sum

from accounts.ledger import ledger_check
from accounts.models import Budget, BudgetHold, BudgetSpend, CreditAccount, Period
from accounts.services.budget_admin import budget_set
from accounts.services.budgets import BudgetExceeded
from accounts.services.credits import InsufficientCredits, team_wallet_for
from accounts.services.keys import api_key_create
from accounts.services.teams import team_member_set
from generations.catalog import GenerationSpec
from generations.models import Generation
from generations.services import generation_cancel, generation_submit
from generations.services.lifecycle import generation_finish, generation_start
from tests.conftest import funded_user
from tests.factories import OutputImageFactory, TeamFactory
from tests.services import require_postgresql

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PRICE = 30  # seedream-4.0 per 1K image, from the price migration
MEMBERS = 10
SUBMITS = 200


@pytest.fixture(autouse=True)
def _postgresql_only():
    require_postgresql()


@pytest.fixture
def tasks_not_sent(monkeypatch):
    """Generations stay queued: these tests are about the holds, not the worker."""
    monkeypatch.setattr("generations.tasks.run_generation_task.apply_async", lambda **kwargs: None)


def run_at_once(count: int, work) -> list:
    """``work(number)`` in ``count`` threads released together; each result or its error."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def runner(number: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[number] = work(number)
        except Exception as error:
            results[number] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


def outcome_kinds(outcomes: list) -> Counter:
    return Counter(
        outcome if isinstance(outcome, str) else type(outcome).__name__ for outcome in outcomes
    )


def team_with_members(*, credits: int):
    team = TeamFactory(name="Design", slug="design", credits=credits)
    members = [funded_user(0) for _ in range(MEMBERS)]
    for member in members:
        team_member_set(team=team, user=member, role="member", actor=None)
    return team, members


def submit_one(*, user, team_wallet, number: int, api_key=None) -> str:
    generation_submit(
        user=user,
        spec=GenerationSpec(model="seedream-4.0", prompt=f"race {number}", size="1K"),
        wallet=team_wallet,
        api_key=api_key,
    )
    return "accepted"


def spent_of(budget: Budget) -> int:
    return sum(BudgetSpend.objects.filter(budget=budget).values_list("spent", flat=True))


def holds_of(budget: Budget) -> int:
    total = BudgetHold.objects.filter(spend__budget=budget).aggregate(
        net=Sum("held") - Sum("released")
    )["net"]
    return total or 0


def assert_books_agree(*budgets: Budget) -> None:
    for budget in budgets:
        assert spent_of(budget) == holds_of(budget)
        periods = BudgetSpend.objects.filter(budget=budget)
        assert all(0 <= period.spent <= budget.limit for period in periods)
    report = ledger_check()
    assert report.ok, report.mismatches
    assert not CreditAccount.objects.filter(available__lt=0).exists()


def test_two_hundred_submits_by_ten_members_fit_the_team_budget_exactly(
    local_account, tasks_not_sent
):
    team, members = team_with_members(credits=1_000_000)
    budget = budget_set(scope=Budget.Scope.TEAM, team=team, limit=20 * PRICE, actor=None)
    wallet = team_wallet_for(team)

    outcomes = run_at_once(
        SUBMITS,
        lambda number: submit_one(
            user=members[number % MEMBERS], team_wallet=wallet, number=number
        ),
    )

    assert outcome_kinds(outcomes) == {"accepted": 20, "BudgetExceeded": SUBMITS - 20}, outcomes
    assert Generation.objects.filter(wallet=wallet).count() == 20
    assert spent_of(budget) == 20 * PRICE
    wallet.refresh_from_db()
    assert (wallet.available, wallet.held) == (1_000_000 - 20 * PRICE, 20 * PRICE)
    assert_books_agree(budget)


def test_member_budgets_of_three_images_each_accept_exactly_thirty(local_account, tasks_not_sent):
    team, members = team_with_members(credits=1_000_000)
    budgets = [
        budget_set(scope=Budget.Scope.MEMBER, team=team, user=member, limit=3 * PRICE, actor=None)
        for member in members
    ]
    wallet = team_wallet_for(team)

    outcomes = run_at_once(
        SUBMITS,
        lambda number: submit_one(
            user=members[number % MEMBERS], team_wallet=wallet, number=number
        ),
    )

    assert outcome_kinds(outcomes) == {"accepted": 30, "BudgetExceeded": SUBMITS - 30}
    per_member = Counter(
        Generation.objects.filter(wallet=wallet).values_list("owner_id", flat=True)
    )
    assert max(per_member.values()) <= 3
    assert sum(per_member.values()) == 30
    assert_books_agree(*budgets)


def test_a_key_budget_holds_under_concurrent_use_of_the_key(local_account, tasks_not_sent):
    owner = funded_user(1_000_000)
    issued = api_key_create(user=owner, name="render farm")
    budget = budget_set(
        scope=Budget.Scope.KEY,
        api_key=issued.api_key,
        limit=7 * PRICE,
        period=Period.DAY,
        actor=None,
    )

    outcomes = run_at_once(
        60,
        lambda number: submit_one(
            user=owner, team_wallet=None, number=number, api_key=issued.api_key
        ),
    )

    assert outcome_kinds(outcomes) == {"accepted": 7, "BudgetExceeded": 53}
    assert Generation.objects.filter(api_key=issued.api_key).count() == 7
    assert_books_agree(budget)


def test_every_budget_and_the_wallet_hold_together(local_account, tasks_not_sent):
    """Team, member and key budgets and the wallet's balance all apply to each submit; the
    first limit reached refuses, and no other moves."""
    team, members = team_with_members(credits=25 * PRICE)
    team_budget = budget_set(scope=Budget.Scope.TEAM, team=team, limit=40 * PRICE, actor=None)
    member_budgets = [
        budget_set(scope=Budget.Scope.MEMBER, team=team, user=member, limit=4 * PRICE, actor=None)
        for member in members
    ]
    wallet = team_wallet_for(team)

    outcomes = run_at_once(
        SUBMITS,
        lambda number: submit_one(
            user=members[number % MEMBERS], team_wallet=wallet, number=number
        ),
    )

    kinds = outcome_kinds(outcomes)
    # The wallet affords 25; the member budgets 40 together; the team's 40.
    assert kinds["accepted"] == 25, kinds
    assert set(kinds) <= {"accepted", BudgetExceeded.__name__, InsufficientCredits.__name__}
    assert spent_of(team_budget) == 25 * PRICE
    assert sum(spent_of(budget) for budget in member_budgets) == 25 * PRICE
    wallet.refresh_from_db()
    assert (wallet.available, wallet.held) == (0, 25 * PRICE)
    assert_books_agree(team_budget, *member_budgets)


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(settings.TIME_ZONE))


def test_releases_after_the_month_ended_go_back_to_the_month_they_were_held_in(
    local_account, tasks_not_sent
):
    team, members = team_with_members(credits=1_000_000)
    budget = budget_set(scope=Budget.Scope.TEAM, team=team, limit=10 * PRICE, actor=None)
    wallet = team_wallet_for(team)

    with time_machine.travel(local(2026, 12, 31, 23, 59), tick=True):
        outcomes = run_at_once(
            30,
            lambda number: submit_one(
                user=members[number % MEMBERS], team_wallet=wallet, number=number
            ),
        )
    assert outcome_kinds(outcomes) == {"accepted": 10, "BudgetExceeded": 20}
    in_flight = list(Generation.objects.filter(wallet=wallet))

    with time_machine.travel(local(2027, 1, 1, 0, 1), tick=True):
        # In the new month the budget is whole again, while December's holds are in flight.
        outcomes = run_at_once(
            30,
            lambda number: submit_one(
                user=members[number % MEMBERS], team_wallet=wallet, number=100 + number
            ),
        )
        assert outcome_kinds(outcomes) == {"accepted": 10, "BudgetExceeded": 20}
        # December's generations end now: four deliver their image, three fail, three are
        # canceled; only what they were charged stays in December.
        delivered, failed, canceled = in_flight[:4], in_flight[4:7], in_flight[7:]
        for generation in delivered + failed:
            generation_start(generation_id=str(generation.id))
        for generation in delivered:
            OutputImageFactory(generation=generation)
            generation_finish(generation)
        for generation in failed:
            generation_finish(generation)
        for generation in canceled:
            generation_cancel(generation=generation, user=generation.owner)

    december = BudgetSpend.objects.get(budget=budget, period_start="2026-12-01")
    january = BudgetSpend.objects.get(budget=budget, period_start="2027-01-01")
    assert december.spent == 4 * PRICE
    assert january.spent == 10 * PRICE
    assert_books_agree(budget)
