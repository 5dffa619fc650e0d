"""Allowances: a recurring grant written by the scheduler once per period, however it runs."""

import datetime
import io
import threading

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from accounts import tasks
from accounts.models import Allowance, AuditEvent, CreditAccount, CreditEntry
from accounts.services.allowances import (
    AllowanceInvalid,
    allowance_grant,
    allowance_remove,
    allowance_set,
    allowances_grant_due,
)
from accounts.services.credits import credit_account_for, team_wallet_for
from tests.factories import GenerationFactory, TeamFactory, UserFactory
from tests.services import require_postgresql

pytestmark = pytest.mark.django_db


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 5) -> datetime.datetime:
    """A moment in the installation's time zone (the one periods are counted in)."""
    return timezone.make_aware(datetime.datetime(year, month, day, hour, minute))


DECEMBER_1 = local(2026, 12, 1)


def allowance_grants(wallet: CreditAccount) -> list[CreditEntry]:
    return list(
        CreditEntry.objects.filter(
            account=wallet, idempotency_key__startswith="allowance:"
        ).order_by("id")
    )


def available(wallet: CreditAccount) -> int:
    wallet.refresh_from_db()
    return wallet.available


@pytest.fixture
def team_wallet() -> CreditAccount:
    return team_wallet_for(TeamFactory(name="Design", credits=5_000))


def test_add_grants_the_amount_on_top_of_the_balance(team_wallet):
    allowance = allowance_set(wallet=team_wallet, amount=20_000, policy="add", actor=None)

    assert allowances_grant_due(at=DECEMBER_1) == 1

    assert available(team_wallet) == 25_000
    [grant] = allowance_grants(team_wallet)
    assert grant.amount == 20_000
    assert grant.idempotency_key == f"allowance:{allowance.pk}:2026-12-01"
    assert grant.memo == "Monthly allowance (20,000) for the period from 1 December 2026"
    allowance.refresh_from_db()
    assert allowance.last_granted_period == datetime.date(2026, 12, 1)
    event = AuditEvent.objects.get(action="allowance.granted")
    assert event.target_id == str(allowance.pk)
    assert event.before == {"available": 5_000}
    assert event.after["granted"] == 20_000
    assert event.after["period_start"] == "2026-12-01"


def test_top_up_grants_what_brings_the_balance_up_to_the_amount(team_wallet):
    allowance_set(wallet=team_wallet, amount=20_000, policy="top_up", actor=None)

    assert allowances_grant_due(at=DECEMBER_1) == 1

    assert available(team_wallet) == 20_000
    assert [grant.amount for grant in allowance_grants(team_wallet)] == [15_000]


def test_top_up_counts_credits_held_by_running_generations_as_spent(team_wallet):
    # What is held may be captured: the top-up brings the spendable balance up to the amount.
    GenerationFactory(wallet=team_wallet, credits_held=1_000)
    allowance_set(wallet=team_wallet, amount=20_000, policy="top_up", actor=None)

    allowances_grant_due(at=DECEMBER_1)

    assert [grant.amount for grant in allowance_grants(team_wallet)] == [16_000]


def test_a_full_wallet_gets_no_top_up_but_its_period_is_done(team_wallet):
    allowance = allowance_set(wallet=team_wallet, amount=3_000, policy="top_up", actor=None)

    assert allowances_grant_due(at=DECEMBER_1) == 0

    assert available(team_wallet) == 5_000
    assert allowance_grants(team_wallet) == []
    allowance.refresh_from_db()
    assert allowance.last_granted_period == datetime.date(2026, 12, 1)
    # Spending later in the month does not make the next run top up again.
    team_wallet.refresh_from_db()
    assert allowances_grant_due(at=local(2026, 12, 20)) == 0
    assert allowance_grants(team_wallet) == []


def test_running_twice_in_a_period_grants_once(team_wallet):
    allowance_set(wallet=team_wallet, amount=20_000, policy="add", actor=None)

    assert allowances_grant_due(at=DECEMBER_1) == 1
    assert allowances_grant_due(at=local(2026, 12, 1, 1)) == 0

    assert len(allowance_grants(team_wallet)) == 1
    assert available(team_wallet) == 25_000
    assert AuditEvent.objects.filter(action="allowance.granted").count() == 1


def test_the_beat_task_grants_the_current_period_once(team_wallet):
    allowance = allowance_set(wallet=team_wallet, amount=20_000, policy="add", actor=None)

    tasks.grant_allowances_task.delay()
    tasks.grant_allowances_task.delay()

    [grant] = allowance_grants(team_wallet)
    this_month = timezone.localdate().replace(day=1)
    assert grant.idempotency_key == f"allowance:{allowance.pk}:{this_month.isoformat()}"


def test_a_late_run_still_grants_the_periods_allowance(team_wallet):
    allowance_set(wallet=team_wallet, amount=20_000, policy="add", actor=None)

    assert allowances_grant_due(at=local(2026, 12, 3, 14)) == 1

    [grant] = allowance_grants(team_wallet)
    assert grant.idempotency_key.endswith(":2026-12-01")


def test_the_next_period_grants_again_and_missed_periods_are_not_back_filled(team_wallet):
    allowance = allowance_set(wallet=team_wallet, amount=1_000, policy="add", actor=None)

    allowances_grant_due(at=DECEMBER_1)
    allowances_grant_due(at=local(2027, 1, 1))
    # No run in February: March's run grants March only.
    allowances_grant_due(at=local(2027, 3, 2))

    keys = [grant.idempotency_key for grant in allowance_grants(team_wallet)]
    assert keys == [
        f"allowance:{allowance.pk}:2026-12-01",
        f"allowance:{allowance.pk}:2027-01-01",
        f"allowance:{allowance.pk}:2027-03-01",
    ]
    assert available(team_wallet) == 8_000


def test_weekly_and_daily_periods(team_wallet):
    user_wallet = credit_account_for(UserFactory())
    allowance_set(wallet=team_wallet, amount=100, period="week", actor=None)
    allowance_set(wallet=user_wallet, amount=10, period="day", actor=None)

    # Thursday 3 December 2026: the week began on Monday 30 November.
    allowances_grant_due(at=local(2026, 12, 3))
    allowances_grant_due(at=local(2026, 12, 3, 18))
    allowances_grant_due(at=local(2026, 12, 4))

    assert [grant.idempotency_key[-10:] for grant in allowance_grants(team_wallet)] == [
        "2026-11-30"
    ]
    assert [grant.idempotency_key[-10:] for grant in allowance_grants(user_wallet)] == [
        "2026-12-03",
        "2026-12-04",
    ]


def test_an_inactive_allowance_grants_nothing(team_wallet):
    allowance = allowance_set(wallet=team_wallet, amount=20_000, actor=None)
    Allowance.objects.filter(pk=allowance.pk).update(active=False)

    assert allowances_grant_due(at=DECEMBER_1) == 0

    assert allowance_grants(team_wallet) == []


def test_a_removed_allowance_grants_nothing_and_keeps_what_it_granted(team_wallet):
    allowance = allowance_set(wallet=team_wallet, amount=1_000, actor=None)
    allowances_grant_due(at=DECEMBER_1)

    allowance_remove(allowance=allowance, actor=None)
    assert allowances_grant_due(at=local(2027, 1, 1)) == 0

    assert available(team_wallet) == 6_000
    assert AuditEvent.objects.filter(action="allowance.removed").count() == 1


def test_changing_an_allowance_keeps_the_granted_period_and_is_audited(team_wallet):
    allowances_first = allowance_set(wallet=team_wallet, amount=1_000, actor=None)
    allowances_grant_due(at=DECEMBER_1)

    changed = allowance_set(wallet=team_wallet, amount=2_000, policy="top_up", actor=None)

    assert changed.pk == allowances_first.pk
    assert allowances_grant_due(at=local(2026, 12, 15)) == 0
    assert allowances_grant_due(at=local(2027, 1, 1)) == 0  # 6,000 available: no top-up
    event = AuditEvent.objects.filter(action="allowance.set").latest("id")
    assert event.before == {"amount": 1_000, "period": "month", "policy": "add"}
    assert event.after["policy"] == "top_up"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"amount": 0}, "positive"),
        ({"amount": 10, "period": "none"}, "period"),
        ({"amount": 10, "policy": "double"}, "policy"),
    ],
)
def test_invalid_allowances_are_refused(team_wallet, fields, message):
    with pytest.raises(AllowanceInvalid, match=message):
        allowance_set(wallet=team_wallet, actor=None, **fields)


def test_one_failing_allowance_does_not_stop_the_others(team_wallet, monkeypatch):
    broken = allowance_set(wallet=credit_account_for(UserFactory()), amount=10, actor=None)
    allowance_set(wallet=team_wallet, amount=10, actor=None)

    def grant(*, allowance_id, at=None):
        if allowance_id == broken.pk:
            raise RuntimeError("database hiccup")
        return allowance_grant(allowance_id=allowance_id, at=at)

    monkeypatch.setattr("accounts.services.allowances.allowance_grant", grant)

    assert allowances_grant_due(at=DECEMBER_1) == 1
    broken.refresh_from_db()
    assert broken.last_granted_period is None  # the next run tries it again


def test_the_scheduler_runs_the_grants_hourly():
    assert django_settings.CELERY_BEAT_SCHEDULE["grant-allowances"] == {
        "task": "accounts.grant_allowances",
        "schedule": 3600.0,
    }


# --- manage.py team allowance -----------------------------------------------------------------


def run(*args: str) -> str:
    stdout = io.StringIO()
    call_command("team", *args, stdout=stdout)
    return stdout.getvalue()


def test_the_command_sets_and_stops_a_teams_allowance(team_wallet):
    output = run("allowance", team_wallet.team.slug, "20000", "--policy", "top_up")

    assert "Top up to the amount: 20,000 monthly for team Design" in output
    allowance = Allowance.objects.get(wallet=team_wallet)
    assert (allowance.amount, allowance.period, allowance.policy) == (20_000, "month", "top_up")

    assert "Stopped" in run("allowance", team_wallet.team.slug, "--stop")
    assert not Allowance.objects.exists()


def test_the_command_names_what_is_wrong(team_wallet):
    with pytest.raises(CommandError, match="amount of credits"):
        run("allowance", team_wallet.team.slug)
    with pytest.raises(CommandError, match="positive"):
        run("allowance", team_wallet.team.slug, "0")
    with pytest.raises(CommandError, match="no allowance"):
        run("allowance", team_wallet.team.slug, "--stop")


# --- under real concurrency (PostgreSQL) ------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("policy", ["add", "top_up"])
def test_two_concurrent_runs_grant_exactly_once(policy):
    require_postgresql()
    wallet = team_wallet_for(TeamFactory(credits=500))
    allowance_set(wallet=wallet, amount=20_000, policy=policy, actor=None)
    runs = 4
    barrier = threading.Barrier(runs)
    results: list = [None] * runs

    def run_scheduler(number: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[number] = allowances_grant_due(at=DECEMBER_1)
        except Exception as error:
            results[number] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run_scheduler, args=(n,)) for n in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == [0] * (runs - 1) + [1], results
    grants = allowance_grants(wallet)
    assert len(grants) == 1
    assert available(wallet) == (20_500 if policy == "add" else 20_000)
