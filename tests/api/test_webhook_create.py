"""Webhooks asked for on create: vetted before anything is charged, then saved on the generation."""

import pytest

from generations.models import Generation
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db


def create(user, **fields):
    body = {"model": "seedream-4.0", "prompt": "a kite", "size": "1K", **fields}
    return key_client(user).post("/api/v1/generations", body, format="json")


def test_a_webhook_url_and_event_filter_are_saved(user, local_account, settings):
    settings.FETCH_ALLOW_PRIVATE_HOSTS = ["localhost"]
    response = create(
        user, webhook_url="http://localhost:9/hooks", webhook_events=["succeeded", "failed"]
    )
    assert response.status_code == 201, response.json()
    generation = Generation.objects.get()
    assert generation.webhook_url == "http://localhost:9/hooks"
    assert generation.webhook_events == ["succeeded", "failed"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"webhook_url": "http://127.0.0.1/hooks"}, "webhook_url"),
        ({"webhook_url": "http://169.254.169.254/latest"}, "webhook_url"),
        ({"webhook_url": "ftp://example.com/x"}, "webhook_url"),
        ({"webhook_url": "http://localhost:9/x", "webhook_events": ["exploded"]}, "webhook_events"),
    ],
)
def test_a_bad_webhook_is_refused_before_anything_is_charged(user, local_account, fields, field):
    response = create(user, **fields)
    assert response.status_code == 400
    body = response.json()["error"]
    assert field in str(body["details"]) or field in body["message"]
    assert not Generation.objects.exists()
