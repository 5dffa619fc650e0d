"""``manage.py reconcile`` finds where the ledger and a provider's own counts disagree."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from generations.usage.dimensions import day_bounds
from generations.usage.reconcile import reconcile
from tests.usage.builders import attempt_spec, make_generation

pytestmark = pytest.mark.django_db


def yesterday_at(hour: int):
    return day_bounds(timezone.localdate() - timedelta(days=1))[0] + timedelta(hours=hour)


@pytest.fixture
def day_of_calls(user, ark, fal):
    one = {"generated_images": 1}
    return {
        "clean": make_generation(
            owner=user,
            created_at=yesterday_at(9),
            attempts=[attempt_spec(ark, images=1, usage=one)],
        ),
        # Ark bills two images; we received one (the user paid for one).
        "billed_gap": make_generation(
            owner=user,
            created_at=yesterday_at(10),
            attempts=[
                attempt_spec(ark, images=1, usage={"generated_images": 2}, request_id="ark-77")
            ],
        ),
        # Ark returned two images but the ledger captured one.
        "ledger_gap": make_generation(
            owner=user,
            num_images=2,
            delivered=1,
            created_at=yesterday_at(11),
            attempts=[attempt_spec(ark, images=2, usage={"generated_images": 2})],
        ),
        # Ark failed over to fal, which delivered: nothing of it is Ark's to charge.
        "failed_over": make_generation(
            owner=user,
            created_at=yesterday_at(12),
            attempts=[
                attempt_spec(ark, outcome="failed", error_code="rate_limited"),
                attempt_spec(fal, images=1, usage=one),
            ],
        ),
        "other_day": make_generation(
            owner=user,
            created_at=yesterday_at(-30),
            attempts=[attempt_spec(ark, images=1, usage={"generated_images": 5})],
        ),
    }


def test_the_known_gaps_are_found_and_nothing_else(day_of_calls):
    result = reconcile(provider="ark", day=timezone.localdate() - timedelta(days=1))

    assert {row.generation_id for row in result.generations} == {
        day_of_calls[name].pk for name in ("clean", "billed_gap", "ledger_gap", "failed_over")
    }
    differences = {row.generation_id: row.problems for row in result.differences}
    assert differences == {
        day_of_calls["billed_gap"].pk: ["provider reported 2 image(s) but 1 were returned"],
        day_of_calls["ledger_gap"].pk: ["ledger captured 1 image(s) (30 credits) for 2 returned"],
    }
    assert (result.total("returned"), result.total("captured")) == (4, 3)


def test_the_command_prints_the_differences_and_fails(day_of_calls):
    out = io.StringIO()
    day = (timezone.localdate() - timedelta(days=1)).isoformat()

    with pytest.raises(CommandError, match="2 generation"):
        call_command("reconcile", "--provider", "ark", "--day", day, stdout=out)

    printed = out.getvalue()
    assert str(day_of_calls["billed_gap"].pk) in printed
    assert "ark-77" in printed
    assert str(day_of_calls["ledger_gap"].pk) in printed
    assert str(day_of_calls["clean"].pk) not in printed
    assert "provider reported 5 image(s)" in printed  # 1 + 2 + 2 + 0 for ark that day


def test_a_clean_day_says_so(day_of_calls):
    out = io.StringIO()
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    call_command("reconcile", "--provider", "fal", "--day", day, stdout=out)
    assert "No differences" in out.getvalue()


def test_a_bad_day_is_refused(db):
    with pytest.raises(CommandError, match="--day"):
        call_command("reconcile", "--provider", "ark", "--day", "yesterday")
