"""GET /api/v1/models, GET /api/v1/me/usage, and the caller's own keys under /api/v1/keys."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey, ModelPrice
from accounts.services.keys import api_key_create
from generations.catalog import list_models
from generations.models import Generation
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db


# --- models -----------------------------------------------------------------------------------


def test_models_lists_the_catalog_with_current_prices(user, default_prices):
    ModelPrice.objects.filter(model="dreamina-3.1").delete()
    ModelPrice.objects.filter(model="seedream-4.0").update(credits_per_image=33)
    response = key_client(user).get("/api/v1/models")
    assert response.status_code == 200
    by_id = {model["id"]: model for model in response.json()}
    assert list(by_id) == [model.id for model in list_models()]
    assert by_id["seedream-4.0"]["price_per_image"] == 33
    assert by_id["dreamina-3.1"]["price_per_image"] is None
    seedream = by_id["seedream-4.0"]
    assert seedream["size_tiers"] == ["1K", "2K", "4K"]
    assert seedream["tier_dimensions"]["1K"]["16:9"] == "1280x720"
    assert seedream["max_references"] == 14
    assert by_id["seedream-3.0-t2i"]["guidance_range"] == [1.0, 10.0]


# --- usage ------------------------------------------------------------------------------------


def test_usage_counts_generations_images_and_credits_per_day_and_model(
    user, other_user, make_generation
):
    make_generation(user, num_images=2)
    make_generation(user, num_images=1)
    make_generation(user, model="seedream-3.0-t2i", size="1024x1024")
    make_generation(user, finished=False)  # held, not yet charged
    old = make_generation(user, num_images=3)
    Generation.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=3))
    ancient = make_generation(user)
    Generation.objects.filter(id=ancient.id).update(created_at=timezone.now() - timedelta(days=40))
    make_generation(other_user, num_images=4)  # someone else's

    body = key_client(user).get("/api/v1/me/usage?days=30").json()
    today = timezone.localdate().isoformat()
    three_days_ago = (timezone.localdate() - timedelta(days=3)).isoformat()
    assert body["days"] == 30
    assert body["rows"] == [
        {
            "date": three_days_ago,
            "model": "seedream-4.0",
            "generations": 1,
            "images": 3,
            "credits_charged": 90,
        },
        {
            "date": today,
            "model": "seedream-3.0-t2i",
            "generations": 1,
            "images": 1,
            "credits_charged": 30,
        },
        {
            "date": today,
            "model": "seedream-4.0",
            "generations": 3,
            "images": 3,
            "credits_charged": 90,
        },
    ]
    assert body["totals"] == {"generations": 5, "images": 7, "credits_charged": 210}


def test_usage_includes_deleted_generations_since_their_credits_were_spent(user, make_generation):
    generation = make_generation(user)
    api = key_client(user)
    api.delete(f"/api/v1/generations/{generation.id}")
    assert api.get("/api/v1/me/usage").json()["totals"]["credits_charged"] == 30


def test_usage_reads_in_a_fixed_number_of_queries(user, make_generation):
    api = key_client(user)
    api.get("/api/v1/me")  # the key's first-use write

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/api/v1/me/usage").status_code == 200
        return len(captured)

    make_generation(user)
    first = count()
    for model, size in [("seedream-3.0-t2i", "1024x1024"), ("dreamina-3.1", "1K")]:
        make_generation(user, model=model, size=size)
    assert count() == first == 3  # key lookup, generations grouped, outputs grouped


@pytest.mark.parametrize("days", ["0", "367", "many"])
def test_usage_days_out_of_range_is_400(user, days):
    response = key_client(user).get(f"/api/v1/me/usage?days={days}")
    assert response.status_code == 400
    assert "days" in response.json()["error"]["details"]


# --- keys -------------------------------------------------------------------------------------


def test_create_shows_the_secret_once_and_it_authenticates(user):
    api = key_client(user)
    response = api.post("/api/v1/keys", {"name": "render farm"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith(f"sds_{body['prefix']}_")
    assert body["name"] == "render farm"
    assert body["active"] is True

    new_client = APIClient()
    new_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['key']}")
    assert new_client.get("/api/v1/me").json()["key"]["name"] == "render farm"

    listed = api.get("/api/v1/keys").json()
    assert {key["name"] for key in listed} == {"tests", "render farm"}
    for key in listed:
        assert "key" not in key
        assert "secret_hash" not in key
        assert ApiKey.objects.get(id=key["id"]).secret_hash not in str(listed)


def test_keys_list_shows_only_the_callers_keys(user, other_user):
    key_client(other_user)
    listed = key_client(user).get("/api/v1/keys").json()
    assert [key["id"] for key in listed] == list(
        ApiKey.objects.filter(user=user).values_list("id", flat=True)
    )


def test_revoke_takes_effect_on_the_next_request(user):
    api = key_client(user)
    created = api.post("/api/v1/keys", {"name": "leaked"}, format="json").json()
    leaked = APIClient()
    leaked.credentials(HTTP_AUTHORIZATION=f"Bearer {created['key']}")
    assert api.delete(f"/api/v1/keys/{created['id']}").status_code == 204
    assert leaked.get("/api/v1/me").status_code == 401
    revoked = next(key for key in api.get("/api/v1/keys").json() if key["id"] == created["id"])
    assert revoked["active"] is False
    assert revoked["revoked_at"] is not None


def test_another_users_key_cannot_be_revoked(user, other_user):
    theirs = api_key_create(user=other_user, name="theirs").api_key
    response = key_client(user).delete(f"/api/v1/keys/{theirs.id}")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "   "}, "name"),
        ({}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "old", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "ok", "expires_at": "next week"}, "expires_at"),
    ],
)
def test_create_errors_name_the_field(user, body, field):
    response = key_client(user).post("/api/v1/keys", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_keys_need_credentials():
    assert APIClient().get("/api/v1/keys").status_code == 401
    assert APIClient().post("/api/v1/keys", {"name": "x"}, format="json").status_code == 401
