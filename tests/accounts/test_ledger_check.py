"""accounts.ledger finds every way a balance can stop matching its ledger, in few queries."""

import pytest

from accounts.ledger import LedgerMismatch, ledger_check, ledger_mismatches
from accounts.models import CreditAccount, CreditEntry, User
from accounts.services.credits import credits_capture, credits_grant, credits_hold, credits_release
from generations.models import Generation
from tests.factories import GenerationFactory, UserFactory

pytestmark = pytest.mark.django_db


def make_generation(owner: User, status: str = Generation.Status.QUEUED) -> Generation:
    return GenerationFactory(owner=owner, status=status)


def problems_of(user: User) -> list[str]:
    wallet = CreditAccount.objects.get(user=user)
    return [mismatch.problem for mismatch in ledger_mismatches() if mismatch.wallet_id == wallet.pk]


def test_a_ledger_written_by_the_services_is_clean(user: User, other_user: User):
    settled = make_generation(user)
    credits_hold(amount=90, generation=settled)
    credits_capture(amount=60, generation=settled)
    credits_release(amount=30, generation=settled)
    Generation.objects.filter(pk=settled.pk).update(status=Generation.Status.SUCCEEDED)
    running = make_generation(other_user, status=Generation.Status.RUNNING)
    credits_hold(amount=30, generation=running)
    UserFactory()  # no account at all
    credits_grant(user=UserFactory(), amount=1, actor=None, memo="m")

    report = ledger_check()

    assert report.ok, report.mismatches
    assert report.accounts_checked == CreditAccount.objects.count()


@pytest.mark.corrupts_ledger
def test_a_corrupted_available_balance_is_reported(user: User, other_user: User):
    balance = CreditAccount.objects.get(user=user).available
    CreditAccount.objects.filter(user=user).update(available=balance - 5)

    mismatches = ledger_mismatches()

    assert mismatches == [
        LedgerMismatch(
            wallet_id=CreditAccount.objects.get(user=user).pk,
            owner=user.get_username(),
            problem=f"available is {balance - 5} but its entries add up to {balance}",
        )
    ]


@pytest.mark.corrupts_ledger
def test_a_corrupted_held_balance_is_reported_against_entries_and_open_holds(user: User):
    credits_hold(amount=40, generation=make_generation(user))
    CreditAccount.objects.filter(user=user).update(held=45)

    assert problems_of(user) == [
        "held is 45 but its entries add up to 40",
        "held is 45 but its generations' open holds add up to 40",
    ]


@pytest.mark.corrupts_ledger
@pytest.mark.parametrize(
    "status",
    [Generation.Status.SUCCEEDED, Generation.Status.FAILED, Generation.Status.CANCELED],
)
def test_a_terminal_generation_with_an_open_hold_is_reported(user: User, status: str):
    generation = make_generation(user)
    credits_hold(amount=30, generation=generation)
    # The worker marked it finished but never settled: the credits are stuck in "held".
    Generation.objects.filter(pk=generation.pk).update(status=status)

    assert problems_of(user) == [f"generation {generation.pk} is {status} but still holds 30"]


def test_an_open_hold_of_a_running_generation_is_fine(user: User):
    generation = make_generation(user, status=Generation.Status.RUNNING)
    credits_hold(amount=30, generation=generation)

    assert problems_of(user) == []


@pytest.mark.corrupts_ledger
def test_a_generation_that_released_more_than_it_held_is_reported(user: User):
    held = make_generation(user)
    over_released = make_generation(user, status=Generation.Status.FAILED)
    credits_hold(amount=50, generation=held)
    # A (buggy) release charged to the wrong generation: balances still add up, holds don't.
    account = CreditAccount.objects.get(user=user)
    last = CreditEntry.objects.filter(account=account).latest("id")
    CreditEntry.objects.create(
        account=account,
        kind=CreditEntry.Kind.RELEASE,
        amount=20,
        held_change=-20,
        available_after=last.available_after + 20,
        held_after=last.held_after - 20,
        generation=over_released,
    )
    CreditAccount.objects.filter(user=user).update(
        available=last.available_after + 20, held=last.held_after - 20
    )

    assert problems_of(user) == [
        f"generation {over_released.pk} released or captured 20 more than it held"
    ]


@pytest.mark.corrupts_ledger
def test_a_hold_without_a_generation_is_reported(user: User):
    account = CreditAccount.objects.get(user=user)
    last = CreditEntry.objects.filter(account=account).latest("id")
    CreditEntry.objects.create(
        account=account,
        kind=CreditEntry.Kind.HOLD,
        amount=-10,
        held_change=10,
        available_after=last.available_after - 10,
        held_after=last.held_after + 10,
    )
    CreditAccount.objects.filter(user=user).update(
        available=last.available_after - 10, held=last.held_after + 10
    )

    assert problems_of(user) == ["held is 10 but its generations' open holds add up to 0"]


@pytest.mark.corrupts_ledger
def test_a_broken_balance_after_chain_is_reported_at_the_bad_entry(user: User):
    credits_grant(user=user, amount=100, actor=None, memo="a")
    bad = credits_grant(user=user, amount=100, actor=None, memo="b")
    credits_grant(user=user, amount=100, actor=None, memo="c")
    CreditEntry.objects.filter(pk=bad.pk).update(available_after=bad.available_after + 1)

    problems = problems_of(user)

    assert len(problems) == 2  # the bad entry, and the next one that no longer follows it
    assert problems[0].startswith(f"entry {bad.pk} records {bad.available_after + 1} available")
    assert f"give {bad.available_after} / 0" in problems[0]


def test_the_check_takes_a_fixed_number_of_queries(django_assert_max_num_queries):
    for _ in range(10):
        teammate = UserFactory()
        credits_grant(user=teammate, amount=100, actor=None, memo="m")
        credits_hold(amount=10, generation=make_generation(teammate))

    with django_assert_max_num_queries(9):
        report = ledger_check()

    assert report.ok
