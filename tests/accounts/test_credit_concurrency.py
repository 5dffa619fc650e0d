"""No credit is spent that the user did not have, under real concurrency (PostgreSQL)."""

import threading
from collections import Counter

import pytest
from django.db import OperationalError, connection, transaction
from django.db.models import Sum

from accounts.models import CreditAccount
from accounts.services.credits import InsufficientCredits, credits_hold
from generations.catalog import GenerationSpec
from generations.models import Generation
from generations.services import generation_submit
from tests.conftest import funded_user
from tests.factories import GenerationFactory
from tests.services import require_postgresql

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PRICE = 30  # seedream-4.0 per image, from the price migration
SUBMISSIONS = 50


@pytest.fixture(autouse=True)
def _postgresql_only():
    require_postgresql()


@pytest.fixture
def tasks_not_sent(monkeypatch):
    """Generations stay queued: this test is about the hold, not the worker."""
    monkeypatch.setattr("generations.tasks.run_generation_task.apply_async", lambda **kwargs: None)


def run_in_threads(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def runner(number: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[number] = work(number)
        except Exception as error:
            results[number] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_fifty_concurrent_submissions_accept_exactly_what_the_balance_affords(
    local_account, tasks_not_sent
):
    teammate = funded_user(10 * PRICE)

    def submit(number: int) -> str:
        generation_submit(
            user=teammate,
            spec=GenerationSpec(model="seedream-4.0", prompt=f"race {number}", size="1K"),
        )
        return "accepted"

    outcomes = run_in_threads(SUBMISSIONS, submit)

    kinds = Counter(
        "refused" if isinstance(outcome, InsufficientCredits) else outcome for outcome in outcomes
    )
    assert kinds == {"accepted": 10, "refused": SUBMISSIONS - 10}, outcomes
    assert Generation.objects.filter(owner=teammate).count() == 10
    account = CreditAccount.objects.get(user=teammate)
    assert (account.available, account.held) == (0, 10 * PRICE)
    sums = account.entries.aggregate(available=Sum("amount"), held=Sum("held_change"))
    assert (sums["available"], sums["held"]) == (account.available, account.held)
    assert account.entries.filter(available_after__lt=0).count() == 0


def test_holds_of_different_users_do_not_wait_on_each_other(local_account):
    first, second = funded_user(1_000), funded_user(1_000)
    first_generation = GenerationFactory(owner=first)
    second_generation = GenerationFactory(owner=second)
    locked = threading.Event()
    release = threading.Event()

    def hold_first_users_lock() -> None:
        try:
            with transaction.atomic():
                CreditAccount.objects.select_for_update().get(user=first)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def hold_with_lock_timeout(user, generation) -> object:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    # Fails at once instead of waiting if the row is locked by someone else.
                    cursor.execute("SET LOCAL lock_timeout = '500ms'")
                return credits_hold(amount=100, generation=generation)
        except OperationalError as error:
            return error
        finally:
            connection.close()

    locker = threading.Thread(target=hold_first_users_lock)
    locker.start()
    assert locked.wait(timeout=10)
    try:
        results: dict[str, object] = {}
        for name, user, generation in [
            ("second", second, second_generation),
            ("first", first, first_generation),
        ]:
            worker = threading.Thread(
                target=lambda n=name, u=user, g=generation: results.__setitem__(
                    n, hold_with_lock_timeout(u, g)
                )
            )
            worker.start()
            worker.join(timeout=30)
    finally:
        release.set()
        locker.join(timeout=30)

    assert not isinstance(results["second"], Exception), results["second"]
    assert isinstance(results["first"], OperationalError)  # control: the lock was really held
    assert CreditAccount.objects.get(user=second).held == 100
    assert CreditAccount.objects.get(user=first).held == 0
