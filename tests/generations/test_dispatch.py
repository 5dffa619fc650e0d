"""The outbox: an accepted generation survives a broker that will not take its task.

The request answers as accepted, the generation waits in QUEUED with the reason, and it runs
once the broker is back — charged once. The same with real processes and a broker that goes
away for real is tests/integration/test_broker_outage.py.
"""

import pytest
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerDown

from accounts.ledger import ledger_mismatches
from accounts.models import CreditAccount, CreditEntry
from generations import tasks
from generations.catalog import GenerationSpec
from generations.models import Generation
from generations.runtime import dispatch
from generations.services import generation_submit
from tests.api.conftest import key_client
from tests.pages.test_compose import compose_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(monkeypatch):
    """The run task's publish, switched off and on; tasks run eagerly while it is on."""
    state = {"up": False, "refused": 0}
    publish = tasks.run_generation_task.apply_async

    def apply_async(*args, **kwargs):
        if not state["up"]:
            state["refused"] += 1
            raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return publish(*args, **kwargs)

    monkeypatch.setattr(tasks.run_generation_task, "apply_async", apply_async)
    # The accepting process's retry thread is not wanted in a test; the sweep is called below.
    monkeypatch.setattr(dispatch, "_retry_loop_start", lambda: None)
    return state


def to_dispatch() -> list[Generation]:
    return list(Generation.objects.filter(dispatched_at__isnull=True))


def test_a_broker_outage_leaves_the_generation_accepted_and_it_runs_when_the_broker_is_back(
    user, local_account, broker, django_capture_on_commit_callbacks
):
    before = CreditAccount.objects.get(user=user).available
    with django_capture_on_commit_callbacks(execute=True):
        generation = generation_submit(
            user=user, spec=GenerationSpec(model="seedream-4.0", prompt="a fox", size="1K")
        )
    assert broker["refused"] == 1
    generation.refresh_from_db()
    assert generation.status == "queued"
    assert "task queue cannot be reached" in generation.waiting_reason
    assert to_dispatch() == [generation]
    assert CreditAccount.objects.get(user=user).held == generation.credits_held

    # Still down: the sweep tries, keeps it, and says it waits.
    Generation.objects.filter(pk=generation.pk).update(
        created_at=generation.created_at - dispatch.PENDING_AFTER
    )
    assert dispatch.generations_dispatch_pending() == {"sent": 0, "waiting": 1}

    broker["up"] = True
    assert dispatch.generations_dispatch_pending() == {"sent": 1, "waiting": 0}
    generation.refresh_from_db()
    assert generation.status == "succeeded"
    assert generation.dispatched_at is not None
    assert generation.waiting_reason == ""
    captures = CreditEntry.objects.filter(generation=generation, kind="capture").count()
    assert captures == 1
    assert CreditAccount.objects.get(user=user).available == before - generation.credits_charged
    assert dispatch.generations_dispatch_pending() == {"sent": 0, "waiting": 0}
    assert not ledger_mismatches()


def test_the_native_api_and_the_workspace_answer_as_usual_while_the_broker_is_down(
    user, local_account, broker, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = key_client(user).post(
            "/api/v1/generations",
            {"model": "seedream-4.0", "prompt": "a heron", "size": "1K"},
            format="json",
        )
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "queued"
    assert "task queue cannot be reached" in created.json()["waiting_reason"]

    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(reverse("workspace"), compose_data(prompt="an owl"))
    assert page.status_code == 302, page.content[:500]
    assert Generation.objects.count() == 2
    assert len(to_dispatch()) == 2
    assert broker["refused"] == 2
    assert not ledger_mismatches()
