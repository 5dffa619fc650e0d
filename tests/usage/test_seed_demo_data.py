"""``manage.py seed_demo_data`` writes a consistent history and can replace it."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.ledger import ledger_check
from accounts.models import AuditEvent, CreditEntry, User
from generations.models import Generation, ProviderAccount, ProviderAttempt

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo_data", *args, stdout=out)
    return out.getvalue()


def test_seeds_a_history_that_passes_the_ledger_check(default_prices):
    printed = seed("--generations", "300", "--users", "5", "--days", "10")

    assert "Seeded 300 generations for 5 users" in printed
    assert Generation.objects.count() == 300
    assert set(Generation.objects.values_list("status", flat=True)) <= {
        "succeeded",
        "failed",
        "canceled",
    }
    assert ProviderAttempt.objects.filter(error_code="rate_limited").exists()
    assert CreditEntry.objects.filter(kind="capture").exists()
    assert not ProviderAccount.objects.filter(enabled=True).exists()  # never routed to
    assert ledger_check().ok
    out = io.StringIO()
    call_command("check_ledger", stdout=out)
    assert "Ledger OK" in out.getvalue()


def test_refuses_to_seed_twice_and_replaces_with_reset(default_prices):
    seed("--generations", "50", "--users", "3")
    with pytest.raises(CommandError, match="--reset"):
        seed("--generations", "50")

    seed("--generations", "80", "--users", "4", "--reset")

    assert Generation.objects.count() == 80
    assert User.objects.filter(username__startswith="demo-user").count() == 4
    assert AuditEvent.objects.filter(action="api_key.created").exists()
    assert ledger_check().ok


def test_same_seed_same_data(default_prices):
    seed("--generations", "40", "--users", "3", "--seed", "7")
    first = sorted(Generation.objects.values_list("prompt", "num_images", "status"))
    seed("--generations", "40", "--users", "3", "--seed", "7", "--reset")
    assert sorted(Generation.objects.values_list("prompt", "num_images", "status")) == first
