from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey, AuditEvent
from accounts.services.keys import (
    ApiKeyInvalid,
    api_key_authenticate,
    api_key_create,
    api_key_mark_used,
    api_key_revoke,
)

pytestmark = pytest.mark.django_db


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_key_is_shown_once_and_only_its_hash_is_stored(user):
    issued = api_key_create(user=user, name="render farm")
    assert issued.key.startswith(f"sds_{issued.api_key.prefix}_")
    # 32 random bytes of secret, far above 128 bits.
    assert len(issued.key.split("_", 2)[2]) >= 43
    row = ApiKey.objects.get()
    stored = " ".join(str(value) for value in row.__dict__.values())
    assert issued.key not in stored
    assert issued.key.split("_", 2)[2] not in stored
    assert AuditEvent.objects.filter(action="api_key.created", actor=user).exists()


def test_authenticate_accepts_the_key_and_rejects_lookalikes(user):
    issued = api_key_create(user=user, name="ci")
    assert api_key_authenticate(raw_key=issued.key) == issued.api_key
    for wrong in [issued.key[:-1] + "x", "sds_nothing", "", issued.key + "x"]:
        with pytest.raises(ApiKeyInvalid, match="not valid"):
            api_key_authenticate(raw_key=wrong)


def test_revoked_and_expired_keys_are_refused_with_a_reason(user):
    revoked = api_key_create(user=user, name="old")
    api_key_revoke(api_key=revoked.api_key, actor=user)
    with pytest.raises(ApiKeyInvalid, match="revoked"):
        api_key_authenticate(raw_key=revoked.key)

    expiring = api_key_create(user=user, name="temp", expires_at=timezone.now() + timedelta(days=1))
    ApiKey.objects.filter(pk=expiring.api_key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(ApiKeyInvalid, match="expired"):
        api_key_authenticate(raw_key=expiring.key)


def test_last_used_is_written_at_most_once_a_minute(user, django_assert_num_queries):
    issued = api_key_create(user=user, name="busy")
    api_key = ApiKey.objects.get()
    with django_assert_num_queries(1):
        api_key_mark_used(api_key=api_key)
    first_use = ApiKey.objects.get().last_used_at
    assert first_use is not None
    with django_assert_num_queries(0):
        api_key_mark_used(api_key=api_key)
    api_key.last_used_at = timezone.now() - timedelta(minutes=2)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=api_key.last_used_at)
    api_key_mark_used(api_key=api_key)
    assert ApiKey.objects.get().last_used_at > first_use
    assert issued.api_key.pk == api_key.pk


def test_me_with_a_key_shows_balance_and_the_key(user):
    issued = api_key_create(user=user, name="laptop")
    response = bearer(issued.key).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json() == {
        "username": user.username,
        "balance": {"available": 100_000, "held": 0},
        "key": {"prefix": issued.api_key.prefix, "name": "laptop"},
    }


def test_me_with_a_session_has_no_key(client, user):
    client.force_login(user)
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["key"] is None


def test_revocation_takes_effect_on_the_next_request(user):
    issued = api_key_create(user=user, name="leaked")
    client = bearer(issued.key)
    assert client.get("/api/v1/me").status_code == 200
    api_key_revoke(api_key=issued.api_key, actor=user)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert "revoked" in response.json()["error"]["message"]


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer sds_bogus_key", "Token abc"])
def test_me_without_a_valid_key_is_401_in_the_error_shape(header):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"}
    assert response["WWW-Authenticate"].startswith("Bearer")
