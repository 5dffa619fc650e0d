"""The accounts management commands: thin shells around one service or selector call."""

import io

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError

from accounts.models import AuditEvent, CreditAccount, CreditEntry, User
from accounts.services.credits import credits_hold
from accounts.services.keys import api_key_authenticate
from generations.models import Generation
from tests.factories import GenerationFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    stdout = io.StringIO()
    call_command(*args, stdout=stdout)
    return stdout.getvalue()


def test_create_api_key_prints_a_key_that_authenticates(user: User):
    output = run("create_api_key", user.get_username(), "--name", "ci-runner")

    key = output.strip().splitlines()[-1]
    api_key = api_key_authenticate(raw_key=key)
    assert (api_key.user, api_key.name, api_key.expires_at) == (user, "ci-runner", None)
    assert AuditEvent.objects.filter(action="api_key.created", target_id=str(api_key.pk)).exists()
    assert api_key.secret_hash not in output


def test_create_api_key_with_expiry(user: User):
    output = run("create_api_key", user.get_username(), "--name", "temp", "--expires-days", "7")

    api_key = api_key_authenticate(raw_key=output.strip().splitlines()[-1])
    assert api_key.expires_at is not None
    assert "expires" in output


def test_create_api_key_for_an_unknown_user_names_it(db):
    with pytest.raises(CommandError, match='"nobody"'):
        run("create_api_key", "nobody", "--name", "ci")


def test_create_api_key_refuses_a_blank_name(user: User):
    with pytest.raises(CommandError, match="name"):
        run("create_api_key", user.get_username(), "--name", "  ")


@pytest.mark.parametrize("days", ["0", "-3", "soon"])
def test_create_api_key_refuses_a_bad_expiry(user: User, days: str):
    with pytest.raises(CommandError, match="days"):
        run("create_api_key", user.get_username(), "--name", "ci", "--expires-days", days)


def test_grant_credits_changes_the_balance_and_prints_it(db):
    teammate = UserFactory()

    output = run("grant_credits", teammate.get_username(), "2500", "--memo", "Q3 budget")

    assert CreditAccount.objects.get(user=teammate).available == 2500
    entry = CreditEntry.objects.get(account__user=teammate)
    assert (entry.kind, entry.actor, entry.memo) == (CreditEntry.Kind.GRANT, None, "Q3 budget")
    assert "2,500" in output.strip().splitlines()[-1]


def test_grant_credits_with_the_same_idempotency_key_grants_once(db):
    teammate = UserFactory()
    args = ("grant_credits", teammate.get_username(), "100", "--memo", "m")

    run(*args, "--idempotency-key", "q3-alice")
    again = run(*args, "--idempotency-key", "q3-alice")

    assert CreditAccount.objects.get(user=teammate).available == 100
    assert "Already granted" in again


def test_grant_credits_refuses_a_key_used_for_another_change(user: User):
    teammate = UserFactory()
    run("grant_credits", user.get_username(), "100", "--memo", "m", "--idempotency-key", "k1")

    with pytest.raises(CommandError, match="already used"):
        run(
            "grant_credits",
            teammate.get_username(),
            "100",
            "--memo",
            "m",
            "--idempotency-key",
            "k1",
        )

    assert not CreditAccount.objects.filter(user=teammate, available__gt=0).exists()


@pytest.mark.parametrize(
    ("amount", "memo", "message"),
    [("0", "m", "positive"), ("-5", "m", "positive"), ("5", " ", "memo")],
)
def test_grant_credits_refuses_bad_input(user: User, amount: str, memo: str, message: str):
    with pytest.raises(CommandError, match=message):
        run("grant_credits", user.get_username(), amount, "--memo", memo)


def test_grant_credits_for_an_unknown_user_names_it(db):
    with pytest.raises(CommandError, match='"nobody"'):
        run("grant_credits", "nobody", "5", "--memo", "m")


def test_check_ledger_is_ok_on_a_clean_ledger(user: User, other_user: User):
    output = run("check_ledger")

    accounts = CreditAccount.objects.count()
    assert output.strip() == f"Ledger OK: {accounts} accounts checked."


@pytest.mark.corrupts_ledger
def test_check_ledger_reports_a_corrupted_balance_and_fails(user: User, other_user: User):
    balance = CreditAccount.objects.get(user=user).available
    CreditAccount.objects.filter(user=user).update(available=balance + 7)
    stdout = io.StringIO()

    with pytest.raises(CommandError, match="1 ledger mismatch"):
        call_command("check_ledger", stdout=stdout)

    assert user.get_username() in stdout.getvalue()
    assert other_user.get_username() not in stdout.getvalue()


@pytest.mark.corrupts_ledger
def test_check_ledger_exits_non_zero_from_the_command_line(user: User, capsys):
    CreditAccount.objects.filter(user=user).update(held=3)

    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "check_ledger"])

    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert user.get_username() in captured.out
    assert "mismatch" in captured.err


@pytest.mark.corrupts_ledger
def test_check_ledger_reports_a_finished_generation_still_holding_credits(user: User):
    generation = GenerationFactory(owner=user)
    credits_hold(amount=30, generation=generation)
    Generation.objects.filter(pk=generation.pk).update(status=Generation.Status.FAILED)
    stdout = io.StringIO()

    with pytest.raises(CommandError):
        call_command("check_ledger", stdout=stdout)

    assert f"generation {generation.pk} is failed but still holds 30" in stdout.getvalue()
    assert user.get_username() in stdout.getvalue()
