"""POST /api/v1/comparisons and GET /api/v1/comparisons/<id>: the native envelope, each
generation as GenerationSerializer shows it, and 404 for whoever may not open it."""

import uuid

import pytest

from generations.models import Comparison, Generation
from tests.api.conftest import key_client
from tests.conftest import funded_user
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BODY = {
    "models": ["seedream-4.0", "seedream-5.0-lite", "dreamina-3.1"],
    "prompt": "a lighthouse at dusk",
}


@pytest.fixture(autouse=True)
def tasks_not_sent(monkeypatch):
    monkeypatch.setattr("generations.tasks.run_generation_task.apply_async", lambda **kwargs: None)


def test_create_answers_the_comparison_with_one_generation_per_model(default_prices):
    client = key_client(funded_user(1_000))

    response = client.post("/api/v1/comparisons", BODY, format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["models"] == BODY["models"]
    assert data["refusals"] == []
    assert [one["model"] for one in data["generations"]] == BODY["models"]
    assert {one["status"] for one in data["generations"]} == {"queued"}
    assert [one["credits_held"] for one in data["generations"]] == [30, 35, 30]
    assert set(data["generations"][0]) >= {"id", "params", "attempts", "outputs", "demo"}


def test_create_with_a_key_replays_and_refusals_use_the_native_envelope(default_prices):
    client = key_client(funded_user(1_000))
    first = client.post("/api/v1/comparisons", BODY, format="json", HTTP_IDEMPOTENCY_KEY="one")
    again = client.post("/api/v1/comparisons", BODY, format="json", HTTP_IDEMPOTENCY_KEY="one")
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Generation.objects.count() == 3

    refused = client.post(
        "/api/v1/comparisons",
        {**BODY, "models": ["seedream-4.0", "seedream-4.5"], "size": "1024x1024"},
        format="json",
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "invalid_request"
    assert "Seedream 4.5: " in error["message"]

    unknown = client.post("/api/v1/comparisons", {**BODY, "modle": "x"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["details"] == {
        "modle": ["Unknown field; see the schema at /api/schema/."]
    }


def test_no_credits_for_any_model_is_402_and_nothing_is_kept(default_prices):
    response = key_client(funded_user(5)).post("/api/v1/comparisons", BODY, format="json")
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"
    assert not Comparison.objects.exists()


def test_retrieve_for_the_owner_and_404_for_an_outsider(default_prices):
    owner = funded_user(1_000)
    owner_client = key_client(owner)
    created = owner_client.post("/api/v1/comparisons", BODY, format="json").json()

    mine = owner_client.get(f"/api/v1/comparisons/{created['id']}")
    assert mine.status_code == 200
    assert [one["id"] for one in mine.json()["generations"]] == [
        one["id"] for one in created["generations"]
    ]

    outsider = key_client(UserFactory()).get(f"/api/v1/comparisons/{created['id']}")
    assert outsider.status_code == 404
    assert outsider.json()["error"]["code"] == "not_found"
    missing = owner_client.get(f"/api/v1/comparisons/{uuid.uuid4()}")
    assert missing.status_code == 404


def test_a_shared_comparison_is_open_to_everyone_here(default_prices):
    created = (
        key_client(funded_user(1_000))
        .post("/api/v1/comparisons", {**BODY, "visibility": "team"}, format="json")
        .json()
    )
    seen = key_client(UserFactory()).get(f"/api/v1/comparisons/{created['id']}")
    assert seen.status_code == 200
    assert len(seen.json()["generations"]) == 3


def test_an_unknown_model_is_named(default_prices):
    response = key_client(funded_user(1_000)).post(
        "/api/v1/comparisons", {**BODY, "models": ["seedream-4.0", "midjourney"]}, format="json"
    )
    assert response.status_code == 400
    assert '"midjourney" is not a valid choice' in response.json()["error"]["message"]
