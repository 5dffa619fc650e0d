import pytest
from django.db.models import Sum

from accounts.models import AuditEvent, CreditAccount, CreditEntry
from accounts.services.credits import (
    InsufficientCredits,
    LedgerError,
    credits_adjust,
    credits_capture,
    credits_grant,
    credits_hold,
    credits_release,
    credits_settle,
)
from generations.models import Generation
from tests.conftest import funded_user
from tests.factories import GenerationFactory

pytestmark = pytest.mark.django_db


def make_generation(owner) -> Generation:
    return GenerationFactory(owner=owner)


def balances(user) -> tuple[int, int]:
    account = CreditAccount.objects.get(user=user)
    return account.available, account.held


def assert_ledger_matches(user) -> None:
    account = CreditAccount.objects.get(user=user)
    sums = account.entries.aggregate(available=Sum("amount"), held=Sum("held_change"))
    assert (sums["available"] or 0, sums["held"] or 0) == (account.available, account.held)


def test_grant_adds_to_available_with_an_entry_and_an_audit_event(admin_user):
    teammate = funded_user(0)
    entry = credits_grant(user=teammate, amount=500, actor=admin_user, memo="onboarding")
    assert balances(teammate) == (500, 0)
    assert (entry.kind, entry.amount, entry.available_after, entry.actor) == (
        "grant",
        500,
        500,
        admin_user,
    )
    event = AuditEvent.objects.get(action="credits.granted")
    assert event.actor == admin_user
    assert event.after["memo"] == "onboarding"


@pytest.mark.parametrize("memo", ["", "   "])
def test_grant_needs_a_memo(memo):
    teammate = funded_user(0)
    with pytest.raises(ValueError, match="memo"):
        credits_grant(user=teammate, amount=5, actor=None, memo=memo)
    assert not CreditEntry.objects.filter(account__user=teammate).exists()


def test_adjust_cannot_take_the_balance_below_zero():
    teammate = funded_user(100)
    with pytest.raises(InsufficientCredits):
        credits_adjust(user=teammate, amount=-101, actor=None, memo="correction")
    assert balances(teammate) == (100, 0)
    credits_adjust(user=teammate, amount=-100, actor=None, memo="correction")
    assert balances(teammate) == (0, 0)
    assert_ledger_matches(teammate)


def test_hold_refuses_to_overspend_and_changes_nothing():
    teammate = funded_user(100)
    generation = make_generation(teammate)
    with pytest.raises(InsufficientCredits) as raised:
        credits_hold(amount=150, generation=generation)
    assert raised.value.shortfall == 50
    assert "50 short" in str(raised.value)
    assert balances(teammate) == (100, 0)


def test_hold_capture_release_move_between_available_and_held():
    teammate = funded_user(100)
    generation = make_generation(teammate)
    credits_hold(amount=90, generation=generation)
    assert balances(teammate) == (10, 90)
    credits_capture(amount=60, generation=generation)
    assert balances(teammate) == (10, 30)
    credits_release(amount=30, generation=generation)
    assert balances(teammate) == (40, 0)
    assert_ledger_matches(teammate)


def test_generation_entries_are_idempotent():
    teammate = funded_user(100)
    generation = make_generation(teammate)
    first = credits_hold(amount=40, generation=generation)
    again = credits_hold(amount=40, generation=generation)
    assert first == again
    credits_release(amount=40, generation=generation)
    credits_release(amount=40, generation=generation)
    assert balances(teammate) == (100, 0)
    assert CreditEntry.objects.filter(generation=generation).count() == 2


def test_grant_with_an_idempotency_key_applies_once():
    teammate = funded_user(0)
    credits_grant(user=teammate, amount=10, actor=None, memo="m", idempotency_key="invoice-7")
    credits_grant(user=teammate, amount=10, actor=None, memo="m", idempotency_key="invoice-7")
    assert balances(teammate) == (10, 0)


def test_a_reused_idempotency_key_for_another_change_is_refused():
    teammate = funded_user(0)
    credits_grant(user=teammate, amount=10, actor=None, memo="m", idempotency_key="invoice-8")
    with pytest.raises(LedgerError, match="different credit change"):
        credits_grant(user=teammate, amount=99, actor=None, memo="m", idempotency_key="invoice-8")
    assert balances(teammate) == (10, 0)


def test_a_repeated_hold_returns_the_first_entry_even_when_the_balance_is_spent():
    teammate = funded_user(40)
    generation = make_generation(teammate)
    first = credits_hold(amount=40, generation=generation)
    # Nothing is left to hold, yet the repeat is not refused: it was applied already.
    assert credits_hold(amount=40, generation=generation) == first
    assert balances(teammate) == (0, 40)
    assert_ledger_matches(teammate)


def test_a_repeated_settlement_moves_nothing_and_returns_the_first_entries():
    teammate = funded_user(100)
    generation = make_generation(teammate)
    generation.credits_held = 90
    credits_hold(amount=90, generation=generation)
    first = credits_settle(generation=generation, charged=60)
    again = credits_settle(generation=generation, charged=60)
    assert [entry.pk for entry in again] == [entry.pk for entry in first]
    assert balances(teammate) == (40, 0)
    assert CreditEntry.objects.filter(generation=generation).count() == 3
    assert_ledger_matches(teammate)


def test_a_generation_key_reused_for_another_change_is_refused_and_changes_nothing():
    teammate = funded_user(100)
    generation = make_generation(teammate)
    credits_hold(amount=40, generation=generation)
    with pytest.raises(LedgerError, match="different credit change"):
        credits_hold(amount=50, generation=generation)
    assert balances(teammate) == (60, 40)
    assert_ledger_matches(teammate)
