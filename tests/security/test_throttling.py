"""Rate limits per API key and per user: 429 with Retry-After in the API's error shape."""

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import ApiKey
from accounts.services.keys import api_key_create
from seedream_site import throttling

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counts():
    # Counters live in the cache, which outlives a test's database rollback.
    cache.clear()
    yield
    cache.clear()


def me(client, key: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.get(reverse("api-me"), **headers)


def test_the_call_after_the_key_limit_is_429_with_retry_after(client, user, settings):
    settings.API_RATE_PER_KEY = "3/min"
    key = api_key_create(user=user, name="script").key

    assert [me(client, key).status_code for _ in range(3)] == [200, 200, 200]
    refused = me(client, key)

    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert "throttled" in error["message"].lower()


def test_another_users_key_is_unaffected(client, user, other_user, settings):
    settings.API_RATE_PER_KEY = "2/min"
    mine = api_key_create(user=user, name="mine").key
    theirs = api_key_create(user=other_user, name="theirs").key
    for _ in range(3):
        me(client, mine)
    assert me(client, mine).status_code == 429
    assert me(client, theirs).status_code == 200


def test_the_user_limit_counts_all_of_a_users_keys(client, user, settings):
    settings.API_RATE_PER_KEY = "100/min"
    settings.API_RATE_PER_USER = "4/min"
    first = api_key_create(user=user, name="first").key
    second = api_key_create(user=user, name="second").key
    statuses = [me(client, key).status_code for key in (first, second, first, second)]
    assert statuses == [200] * 4
    assert me(client, second).status_code == 429
    assert me(client, first).status_code == 429


def test_session_requests_count_against_the_user(client, user, settings):
    settings.API_RATE_PER_USER = "2/min"
    client.force_login(user)
    assert [me(client).status_code for _ in range(3)] == [200, 200, 429]


def test_the_window_resets(client, user, settings, monkeypatch):
    settings.API_RATE_PER_KEY = "1/min"
    key = api_key_create(user=user, name="script").key
    clock = [1_800_000_000.0]
    monkeypatch.setattr(throttling._WindowRateThrottle, "timer", lambda self: clock[0])

    assert me(client, key).status_code == 200
    clock[0] += 30
    refused = me(client, key)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"
    clock[0] += 30
    assert me(client, key).status_code == 200


def test_default_rates_come_from_settings(settings):
    assert settings.API_RATE_PER_KEY == "120/min"
    assert settings.API_RATE_PER_USER == "240/min"
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == [
        "seedream_site.throttling.ApiKeyRateThrottle",
        "seedream_site.throttling.UserRateThrottle",
    ]


def test_a_concurrent_burst_gets_exactly_the_limit(settings):
    """The counter is one atomic increment, so racing requests cannot all read "under"."""
    settings.API_RATE_PER_KEY = "5/min"
    request = SimpleNamespace(auth=ApiKey(pk=987_654), user=None)
    start = threading.Barrier(20)

    def call() -> bool:
        start.wait()
        return throttling.ApiKeyRateThrottle().allow_request(request, None)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: call(), range(20)))
    assert results.count(True) == 5
