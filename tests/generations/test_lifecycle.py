"""The lifecycle: the allowed status changes, and every other one refused without a change."""

import itertools

import pytest

from accounts.ledger import ledger_mismatches
from accounts.models import CreditEntry
from generations.catalog import GenerationSpec
from generations.models import Generation
from generations.services import generation_submit
from generations.services.lifecycle import (
    DELETED,
    TRANSITIONS,
    GenerationNotCancelable,
    GenerationNotDeletable,
    TransitionRefused,
    generation_cancel,
    generation_delete,
    generation_expire,
    generation_finish,
    generation_requeue,
    generation_start,
    state_of,
    transition_check,
)
from tests.factories import OutputImageFactory

pytestmark = pytest.mark.django_db

Status = Generation.Status
STATES = [*Status.values, DELETED]

# Written out, not derived from the module: this is the contract the code must meet.
ALLOWED = {
    ("queued", "running"),
    ("queued", "canceled"),
    ("queued", "failed"),
    ("running", "succeeded"),
    ("running", "partial"),
    ("running", "failed"),
    ("running", "canceled"),
    ("running", "queued"),
    ("succeeded", "deleted"),
    ("partial", "deleted"),
    ("failed", "deleted"),
    ("canceled", "deleted"),
}


def test_the_table_is_the_contract():
    assert {(str(a), str(b)) for a, b in TRANSITIONS} == ALLOWED


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATES, STATES)))
def test_transition_check_refuses_everything_outside_the_table(current, target):
    if (current, target) in ALLOWED:
        transition_check(current=current, target=target)
    else:
        with pytest.raises(TransitionRefused):
            transition_check(current=current, target=target)


def generation_in(user, state: str, *, delivered: int = 0, num_images: int = 2) -> Generation:
    """A generation accepted through the service (so its hold is real), then moved to
    ``state`` the way the lifecycle would have, without running it."""
    generation = generation_submit(
        user=user,
        spec=GenerationSpec(
            model="seedream-4.0", prompt="a kite", size="1K", num_images=num_images
        ),
    )
    if state == "queued":
        return generation
    generation = generation_start(generation_id=str(generation.id))
    for index in range(delivered):
        OutputImageFactory(generation=generation, index=index, sha256=f"{index:064d}")
    if state == "running":
        return generation
    if state in ("succeeded", "partial", "failed"):
        generation_finish(generation, error_code="" if delivered else "provider_error")
    elif state == "canceled":
        generation_cancel(generation=generation, user=generation.owner)
    elif state == DELETED:
        generation_finish(generation)
        generation_delete(generation=generation, user=generation.owner)
    generation.refresh_from_db()
    return generation


def deliveries_for(state: str) -> int:
    return {"succeeded": 2, "partial": 1}.get(state, 0)


def snapshot(generation: Generation) -> tuple:
    row = Generation.objects.get(pk=generation.pk)
    entries = CreditEntry.objects.filter(generation=generation).count()
    return (state_of(row), row.credits_charged, row.finished_at, row.dispatched_at, entries)


@pytest.mark.parametrize("state", STATES)
def test_each_operation_acts_only_from_its_states(user, local_account, state):
    """Every public operation, tried from every state: it moves the generation only along an
    allowed transition; from anywhere else it refuses (or drops a late result) and changes
    nothing — status, charge, ledger."""
    for operation, targets, refusal in OPERATIONS:
        generation = generation_in(user, state, delivered=deliveries_for(state))
        assert state_of(generation) == state
        before = snapshot(generation)
        allowed = any((state, target) in ALLOWED for target in targets)
        if refusal is None:
            changed = operation(generation)
            assert bool(changed) == allowed, (operation.__name__, state)
        elif allowed:
            operation(generation)
        else:
            with pytest.raises(refusal):
                operation(generation)
        after = snapshot(generation)
        if allowed:
            assert after[0] in targets, (operation.__name__, state, after[0])
        else:
            assert after == before, (operation.__name__, state)
    assert not ledger_mismatches()


def start(generation: Generation) -> bool:
    return generation_start(generation_id=str(generation.id)) is not None


def finish(generation: Generation) -> bool:
    try:
        return generation_finish(generation)
    except TransitionRefused:
        return False


def expire(generation: Generation) -> bool:
    return generation_expire(generation_id=str(generation.id), error_message="too late")


def cancel(generation: Generation) -> None:
    generation_cancel(generation=generation, user=generation.owner)


def delete(generation: Generation) -> None:
    generation_delete(generation=generation, user=generation.owner)


def requeue(generation: Generation) -> None:
    locked = Generation.objects.get(pk=generation.pk)
    generation_requeue(generation=locked)


OPERATIONS = [
    # (operation, the states it may lead to, what it raises when refused; None: returns False)
    (start, {"running"}, None),
    (finish, {"succeeded", "partial", "failed"}, None),
    (expire, {"failed", "partial"}, None),
    (cancel, {"canceled"}, GenerationNotCancelable),
    (requeue, {"queued"}, TransitionRefused),
]


@pytest.mark.parametrize("state", STATES)
def test_delete_acts_only_on_ended_generations(user, local_account, state):
    generation = generation_in(user, state, delivered=deliveries_for(state))
    before = snapshot(generation)
    if state in ("queued", "running"):
        with pytest.raises(GenerationNotDeletable):
            delete(generation)
        assert snapshot(generation) == before
    else:
        delete(generation)  # deleting twice is harmless: the first time stands
        assert state_of(Generation.objects.get(pk=generation.pk)) == DELETED


def test_finish_names_the_outcome_by_what_was_delivered(user, local_account):
    outcomes = {}
    for delivered in (0, 1, 2):
        generation = generation_in(user, "running", delivered=delivered)
        generation_finish(generation, error_code="provider_error", error_message="It broke.")
        generation.refresh_from_db()
        outcomes[delivered] = (generation.status, generation.credits_charged, generation.error_code)
    price = Generation.objects.first().price_per_image
    assert outcomes == {
        0: ("failed", 0, "provider_error"),
        1: ("partial", price, "provider_error"),
        2: ("succeeded", 2 * price, ""),
    }


def test_no_module_but_the_lifecycle_writes_a_status():
    """Every status change is in generations/services/lifecycle.py: no other module of the app
    assigns ``.status`` or updates ``status=``. (The demo data seeder plans rows of made-up
    history, already ended; it moves no generation.)"""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2] / "generations"
    writes = re.compile(r"\.status\s*=(?!=)|update\([^)]*\bstatus=")
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "migrations" not in path.parts
        and path.name not in ("lifecycle.py", "demo_plan.py")
        and writes.search(path.read_text())
    ]
    assert offenders == []
