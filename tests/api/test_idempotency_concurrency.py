"""Idempotency-Key under real concurrency (PostgreSQL): one 201, every other answer a replay.

The webhook is part of the request: the same key with another webhook is a conflict, not a
replay that silently drops it.
"""

from collections import Counter

import pytest

from accounts.models import CreditAccount, CreditEntry
from accounts.services.keys import api_key_create
from generations.models import Generation
from tests.accounts.test_credit_concurrency import run_in_threads
from tests.conftest import funded_user
from tests.services import require_postgresql

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

CREATES = 50
BODY = {"model": "seedream-4.0", "prompt": "one harbour", "size": "1K", "num_images": 2}


@pytest.fixture(autouse=True)
def _postgresql_only():
    require_postgresql()


@pytest.fixture(autouse=True)
def tasks_not_sent(monkeypatch):
    """Generations stay queued: this is about the answers and the hold, not the worker."""
    monkeypatch.setattr("generations.runtime.dispatch.task_send", lambda *args, **kwargs: True)


def create(key: str, user, body: dict):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_IDEMPOTENCY_KEY="batch-7")
    return client.post("/api/v1/generations", body, format="json")


def test_fifty_concurrent_identical_creates_answer_exactly_one_201(local_account, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    teammate = funded_user(10_000)
    key = api_key_create(user=teammate, name="script").key

    responses = run_in_threads(CREATES, lambda number: create(key, teammate, BODY))

    errors = [response for response in responses if isinstance(response, Exception)]
    assert errors == []
    answers = Counter(
        (response.status_code, response.headers.get("Idempotent-Replayed"))
        for response in responses
    )
    assert answers == {(201, "false"): 1, (200, "true"): CREATES - 1}, answers
    assert len({response.json()["id"] for response in responses}) == 1
    generation = Generation.objects.get(owner=teammate)
    assert CreditEntry.objects.filter(generation=generation, kind="hold").count() == 1
    assert CreditAccount.objects.get(user=teammate).held == generation.credits_held


def test_the_webhook_is_part_of_the_request(local_account, settings):
    settings.FETCH_ALLOW_PRIVATE_HOSTS = ["localhost"]
    teammate = funded_user(10_000)
    key = api_key_create(user=teammate, name="script").key
    first = create(key, teammate, {**BODY, "webhook_url": "http://localhost:9/a"})
    assert first.status_code == 201
    again = create(key, teammate, {**BODY, "webhook_url": "http://localhost:9/a"})
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    other = create(key, teammate, {**BODY, "webhook_url": "http://localhost:9/b"})
    assert other.status_code == 409, other.content
    assert other.json()["error"]["code"] == "idempotency_conflict"
    without = create(key, teammate, BODY)
    assert without.status_code == 409
    generation = Generation.objects.get(owner=teammate)
    assert generation.webhook_url == "http://localhost:9/a"  # stored with the generation
