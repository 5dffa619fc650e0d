"""API keys' last use: noted in a shared cache on the request, written by the beat flush."""

import uuid
from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.services import key_usage
from accounts.services.key_usage import (
    api_key_usage_flush,
    api_key_usage_record,
    usage_cache_is_shared,
)
from accounts.services.keys import api_key_create, api_key_revoke
from accounts.tasks import flush_key_usage_task
from seedream_site.celery import app
from tests.services import REQUIRE_SERVICES

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["files", "redis"])
def shared_cache(request, settings, tmp_path):
    """A cache every process shares: files (always) and Redis (where the broker is Redis)."""
    if request.param == "files":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(tmp_path / "cache"),
            }
        }
        yield caches["default"]
        return
    url = django_settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 needs CELERY_BROKER_URL=redis://…")
        pytest.skip("needs Redis: set CELERY_BROKER_URL=redis://…")
    # The broker's database, under a prefix of this test's own, removed afterwards (never
    # cache.clear() here: on Redis that empties the whole database, queued tasks included).
    prefix = f"test-key-usage-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    yield caches["default"]
    client = redis.Redis.from_url(url)
    for name in client.scan_iter(match=f"{prefix}:*"):
        client.delete(name)


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def api_key_updates(queries: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].upper().startswith("UPDATE") and "accounts_apikey" in query["sql"]
    ]


def test_a_request_notes_the_use_without_writing_to_the_database(shared_cache, user):
    assert usage_cache_is_shared()
    issued = api_key_create(user=user, name="render farm")
    with CaptureQueriesContext(connection) as queries:
        response = bearer(issued.key).get("/api/v1/me")
    assert response.status_code == 200
    assert api_key_updates(queries) == []
    assert ApiKey.objects.get().last_used_at is None

    flush_key_usage_task.delay()  # eager in tests: the beat task's entry point, run now

    last_used_at = ApiKey.objects.get().last_used_at
    assert last_used_at is not None
    assert timezone.now() - last_used_at < timedelta(seconds=10)


def test_the_flush_writes_every_key_once_and_a_second_flush_writes_nothing(
    shared_cache, user, monkeypatch
):
    monkeypatch.setattr(key_usage, "FLUSH_BATCH", 2)  # three keys: two batches
    keys = [api_key_create(user=user, name=f"key {number}").api_key for number in range(3)]
    used_at = timezone.now() - timedelta(minutes=3)
    for offset, api_key in enumerate(keys):
        api_key_usage_record(api_key=api_key, at=used_at + timedelta(seconds=offset))

    assert api_key_usage_flush() == 3
    stored = dict(ApiKey.objects.values_list("pk", "last_used_at"))
    assert stored == {
        api_key.pk: used_at + timedelta(seconds=offset) for offset, api_key in enumerate(keys)
    }

    with CaptureQueriesContext(connection) as queries:
        assert api_key_usage_flush() == 0
    assert api_key_updates(queries) == []
    assert dict(ApiKey.objects.values_list("pk", "last_used_at")) == stored


def test_an_older_use_never_replaces_a_newer_time(shared_cache, user):
    api_key = api_key_create(user=user, name="ci").api_key
    newer = timezone.now() - timedelta(minutes=1)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=newer)
    api_key_usage_record(api_key=api_key, at=newer - timedelta(minutes=5))

    assert api_key_usage_flush() == 0
    assert ApiKey.objects.get().last_used_at == newer


def test_two_flushes_at_once_and_a_use_during_a_flush_lose_nothing(shared_cache, user, monkeypatch):
    """While one flush holds what it read, a new use lands and a second flush runs through."""
    api_key = api_key_create(user=user, name="busy").api_key
    first_use = timezone.now() - timedelta(minutes=4)
    second_use = first_use + timedelta(minutes=2)
    api_key_usage_record(api_key=api_key, at=first_use)
    read = shared_cache.get_many

    def get_many_then_overlap(keys):
        stale = read(keys)
        monkeypatch.setattr(shared_cache, "get_many", read)
        api_key_usage_record(api_key=ApiKey.objects.get(), at=second_use)
        assert api_key_usage_flush() == 1  # the overlapping flush writes the newer use
        return stale

    monkeypatch.setattr(shared_cache, "get_many", get_many_then_overlap)
    assert api_key_usage_flush() == 0  # its older time must not replace the newer one
    assert ApiKey.objects.get().last_used_at == second_use

    later_use = second_use + timedelta(minutes=1)
    api_key_usage_record(api_key=ApiKey.objects.get(), at=later_use)
    api_key_usage_flush()
    assert ApiKey.objects.get().last_used_at == later_use


def test_a_use_just_before_revocation_is_still_written(shared_cache, user):
    issued = api_key_create(user=user, name="laptop")
    assert bearer(issued.key).get("/api/v1/me").status_code == 200
    api_key_revoke(api_key=issued.api_key, actor=user)

    refused = bearer(issued.key).get("/api/v1/me")
    assert refused.status_code == 401
    assert "revoked" in refused.json()["error"]["message"]

    api_key_usage_flush()
    assert ApiKey.objects.get().last_used_at is not None


def test_with_a_per_process_cache_the_request_writes_the_time_itself(user):
    """LocMemCache (CACHE_URL unset): a worker could not see the web server's memory."""
    assert not usage_cache_is_shared()
    issued = api_key_create(user=user, name="make run")
    with CaptureQueriesContext(connection) as queries:
        assert bearer(issued.key).get("/api/v1/me").status_code == 200
    assert len(api_key_updates(queries)) == 1
    assert ApiKey.objects.get().last_used_at is not None
    assert api_key_usage_flush() == 0


def test_beat_runs_the_flush_every_minute():
    assert django_settings.CELERY_BEAT_SCHEDULE["flush-key-usage"] == {
        "task": "accounts.flush_key_usage",
        "schedule": 60.0,
    }
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    assert app.tasks["accounts.flush_key_usage"].name == flush_key_usage_task.name
