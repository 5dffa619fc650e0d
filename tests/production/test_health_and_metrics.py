"""/healthz and /metrics."""

import functools
from collections.abc import Callable

import pytest
from django.test import Client
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import CreditEntry
from generations.catalog import GenerationSpec
from generations.services import generation_submit
from seedream_site.celery import app as celery_app
from seedream_site.observability import health
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "scrape-token-0123456789"


def failing(message: str) -> Callable[[], None]:
    def check() -> None:
        raise ConnectionError(message)

    return check


@pytest.fixture
def broker_down(monkeypatch):
    # The broker URL overridden where connections are made (Celery's conf would lose to the
    # CELERY_BROKER_URL environment variable CI sets). Nothing listens on port 1: the
    # connection is refused at once.
    connect = functools.partial(celery_app.connection_for_read, "redis://127.0.0.1:1/0")
    monkeypatch.setattr(celery_app, "connection_for_read", connect)


def test_healthz_is_200_when_everything_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "storage"}
    for check in body["checks"].values():
        assert check["ok"] is True
        assert check["latency_ms"] >= 0
        assert "error" not in check
    assert response["Cache-Control"].startswith("max-age=0")
    assert response["X-Request-Id"]


def test_healthz_is_503_with_a_broken_broker(client, broker_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["ok"] is False
    assert checks["database"]["ok"] is True
    assert checks["storage"]["ok"] is True
    # Anonymous probes see the error's type, never its text (it may name internal hosts).
    assert checks["broker"]["error"] in {"OperationalError", "ConnectionError"}


@pytest.mark.parametrize("name", ["database", "storage"])
def test_healthz_is_503_when_one_check_fails(client, monkeypatch, name):
    monkeypatch.setitem(health.CHECKS, name, failing("db.internal:5432 refused"))
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"][name] == {
        "ok": False,
        "latency_ms": body["checks"][name]["latency_ms"],
        "error": "ConnectionError",
    }
    assert all(check["ok"] for other, check in body["checks"].items() if other != name)


def test_healthz_shows_the_error_text_to_operators(client, settings, monkeypatch):
    settings.METRICS_TOKEN = METRICS_TOKEN
    monkeypatch.setitem(health.CHECKS, "storage", failing("bucket gone"))
    response = client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.json()["checks"]["storage"]["error"] == "bucket gone"


@pytest.fixture
def finished_generation(user, local_account, django_capture_on_commit_callbacks):
    spec = GenerationSpec(model="seedream-4.0", prompt="a kite", size="1K", num_images=2)
    with django_capture_on_commit_callbacks(execute=True):
        generation = generation_submit(user=user, spec=spec)
    generation.refresh_from_db()
    return generation


def scrape(client: Client, **headers: str) -> dict:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        family.name: family for family in text_string_to_metric_families(response.content.decode())
    }


def samples(family: Metric) -> dict:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for sample in family.samples
    }


def test_metrics_report_generations_latency_queue_and_credits(
    client, settings, finished_generation, django_assert_num_queries
):
    settings.METRICS_TOKEN = METRICS_TOKEN
    queued = generation_submit(
        user=finished_generation.owner,
        spec=GenerationSpec(model="seedream-4.5", prompt="a boat", size="2K"),
    )
    # Three queries however many rows: the GROUP BYs and one SUM (a token needs no session).
    with django_assert_num_queries(3):
        families = scrape(client, HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    generations = samples(families["seedream_generations"])
    assert (
        generations[("seedream_generations", (("model", "seedream-4.0"), ("status", "succeeded")))]
        == 1
    )
    assert (
        generations[("seedream_generations", (("model", queued.model), ("status", "queued")))] == 1
    )

    latency = samples(families["seedream_provider_call_seconds"])
    assert (
        latency[("seedream_provider_call_seconds_bucket", (("le", "+Inf"), ("provider", "local")))]
        == 1
    )
    assert (
        latency[("seedream_provider_call_seconds_bucket", (("le", "300.0"), ("provider", "local")))]
        == 1
    )
    assert samples(families["seedream_provider_call_seconds_gcount"]) == {
        ("seedream_provider_call_seconds_gcount", (("provider", "local"),)): 1
    }

    assert samples(families["seedream_broker_up"]) == {("seedream_broker_up", ()): 1}
    depth = samples(families["seedream_queue_depth"])
    assert list(depth) == [("seedream_queue_depth", (("queue", "celery"),))]
    assert next(iter(depth.values())) >= 0

    captured = sum(
        -entry.held_change for entry in CreditEntry.objects.filter(kind=CreditEntry.Kind.CAPTURE)
    )
    assert captured == finished_generation.credits_charged > 0
    assert samples(families["seedream_credits_captured"]) == {
        ("seedream_credits_captured_total", ()): captured
    }


def test_metrics_report_the_broker_down_and_still_answer(client, admin_user, broker_down):
    client.force_login(admin_user)
    families = scrape(client)
    assert samples(families["seedream_broker_up"]) == {("seedream_broker_up", ()): 0}
    assert "seedream_queue_depth" not in families


def test_metrics_need_staff_or_the_token(client, settings, admin_user):
    settings.METRICS_TOKEN = METRICS_TOKEN
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    client.force_login(UserFactory())
    assert client.get("/metrics").status_code == 401
    client.force_login(admin_user)
    assert client.get("/metrics").status_code == 200
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").status_code == 200


def test_without_a_token_only_staff_may_scrape(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_metrics_speak_openmetrics_when_asked(client, admin_user, finished_generation):
    client.force_login(admin_user)
    response = client.get("/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert response["Content-Type"].startswith("application/openmetrics-text")
    text = response.content.decode()
    assert "# TYPE seedream_provider_call_seconds gaugehistogram" in text
    assert text.rstrip().endswith("# EOF")


def test_probes_are_exempt_from_the_https_redirect(client, settings, admin_user):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    client.force_login(admin_user)
    assert client.get("/metrics").status_code == 200
    assert client.get("/api/v1/me").status_code == 301
