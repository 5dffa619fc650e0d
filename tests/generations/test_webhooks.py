"""Webhooks: signed deliveries of terminal events, recorded, retried, and only to public URLs."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditEvent, WebhookSecret
from accounts.services.keys import api_key_create
from accounts.services.webhook_secret import webhook_secret_for
from generations import tasks
from generations.catalog import GenerationSpec, SpecError
from generations.messaging import webhooks
from generations.messaging.webhooks import (
    MAX_ATTEMPTS,
    RETRY_DELAYS_S,
    webhook_deliver,
    webhook_enqueue,
)
from generations.models import Generation, WebhookDelivery
from generations.security.fetching import FetchRefused, url_vet
from generations.services import generation_submit
from tests.factories import GenerationFactory, WebhookDeliveryFactory
from tests.security.loopback import Reply, loopback_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings):
    """A webhook receiver on loopback, reachable as ``localhost`` only."""
    settings.FETCH_ALLOW_PRIVATE_HOSTS = ["localhost"]
    with loopback_server() as server:
        server.routes["/hook"] = Reply(status=204)
        yield server


@pytest.fixture
def scheduled(monkeypatch) -> list[dict]:
    """Retries the service schedules, captured instead of run (tests run tasks eagerly)."""
    calls: list[dict] = []

    def apply_async(*, kwargs, countdown, **_options):
        calls.append({**kwargs, "countdown": countdown})

    monkeypatch.setattr(tasks.deliver_webhook_task, "apply_async", apply_async)
    return calls


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does, written from the Standard Webhooks spec, not from our code."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    scheme, _, signature = headers["webhook-signature"].partition(",")
    return scheme == "v1" and hmac.compare_digest(signature, expected)


def submit_with_webhook(user, url: str, events=None, **spec_fields) -> Generation:
    fields = {"model": "seedream-4.0", "prompt": "a paper boat", "size": "1K", "num_images": 2}
    fields.update(spec_fields)
    return generation_submit(
        user=user, spec=GenerationSpec(**fields), webhook_url=url, webhook_events=events
    )


def finished_generation(user, status: str, **fields) -> Generation:
    return GenerationFactory(
        owner=user,
        prompt="a paper boat",
        status=status,
        finished_at=timezone.now(),
        **fields,
    )


# --- the whole path ---------------------------------------------------------------------------


def test_a_finished_generation_sends_a_signed_delivery(
    user, local_account, receiver, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        generation = submit_with_webhook(user, receiver.url("/hook"))

    generation.refresh_from_db()
    assert generation.status == Generation.Status.SUCCEEDED
    [request] = receiver.requests
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == f"msg_{generation.pk.hex}_succeeded"
    assert verify(webhook_secret_for(user=user), request.headers, request.body)

    payload = json.loads(request.body)
    assert payload["type"] == "generation.succeeded"
    data = payload["data"]
    assert data["id"] == str(generation.pk)
    assert data["status"] == "succeeded"
    assert data["model"] == "seedream-4.0"
    assert data["credits_charged"] == generation.credits_charged > 0
    assert data["error"] is None
    assert [output["index"] for output in data["outputs"]] == [0, 1]
    # The links are absolute, signed, and open the image without a session.
    link = data["outputs"][0]["url"]
    assert link.startswith("http://127.0.0.1:8000/media/o/")
    split = urlsplit(link)
    assert client.get(f"{split.path}?{split.query}").status_code == 200

    delivery = WebhookDelivery.objects.get()
    assert delivery.delivered
    assert (delivery.attempt, delivery.status_code, delivery.event) == (
        1,
        204,
        "generation.succeeded",
    )
    assert delivery.next_attempt_at is None
    assert delivery.duration_ms is not None


def test_webhook_links_are_on_the_public_base_url_not_the_submitting_requests_host(
    user, local_account, receiver, settings, django_capture_on_commit_callbacks
):
    # The worker that sends a webhook answers no request: its links are on PUBLIC_BASE_URL,
    # whichever host name the generation was submitted by.
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    settings.ALLOWED_HOSTS = ["studio.lan"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(user=user, name='t').key}")
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/generations",
            {
                "model": "seedream-4.0",
                "prompt": "a paper boat",
                "size": "1K",
                "webhook_url": receiver.url("/hook"),
            },
            format="json",
            HTTP_HOST="studio.lan:8101",
        )
    assert created.status_code == 201, created.json()
    [request] = receiver.requests
    [output] = json.loads(request.body)["data"]["outputs"]
    assert output["url"].startswith("https://studio.example.com/media/o/"), output


def test_a_changed_body_or_another_secret_does_not_verify(user, receiver, scheduled):
    generation = finished_generation(user, "failed", webhook_url=receiver.url("/hook"))
    webhook_deliver(generation_id=str(generation.pk), event="failed", attempt=1)
    [request] = receiver.requests
    secret = webhook_secret_for(user=user)
    assert verify(secret, request.headers, request.body)
    assert not verify(secret, request.headers, request.body.replace(b"failed", b"succeeded"))
    other_secret = "whsec_" + base64.b64encode(b"0" * 32).decode()
    assert not verify(other_secret, request.headers, request.body)


def test_a_failed_generation_reports_its_error(user, receiver, scheduled):
    generation = finished_generation(
        user,
        "failed",
        webhook_url=receiver.url("/hook"),
        error_code="content_refused",
        error_message="The provider refused the prompt.",
    )
    webhook_deliver(generation_id=str(generation.pk), event="failed", attempt=1)
    payload = json.loads(receiver.requests[0].body)
    assert payload["type"] == "generation.failed"
    assert payload["data"]["error"] == {
        "code": "content_refused",
        "message": "The provider refused the prompt.",
    }
    assert payload["data"]["outputs"] == []


# --- retries ----------------------------------------------------------------------------------


def test_a_500_is_recorded_and_retried_with_backoff(user, receiver, scheduled):
    receiver.routes["/hook"] = Reply(status=500, body=b"database is down")
    generation = finished_generation(user, "succeeded", webhook_url=receiver.url("/hook"))

    tasks.deliver_webhook_task(generation_id=str(generation.pk), event="succeeded", attempt=1)

    first = WebhookDelivery.objects.get()
    assert (first.attempt, first.status_code, first.delivered) == (1, 500, False)
    assert first.response_excerpt == "database is down"
    assert "HTTP 500" in first.error
    assert first.next_attempt_at == pytest.approx(
        timezone.now() + timedelta(seconds=RETRY_DELAYS_S[0]), abs=timedelta(seconds=5)
    )
    assert scheduled == [
        {
            "generation_id": str(generation.pk),
            "event": "succeeded",
            "attempt": 2,
            "countdown": RETRY_DELAYS_S[0],
        }
    ]

    receiver.routes["/hook"] = Reply(status=200, body=b"ok")
    tasks.deliver_webhook_task(generation_id=str(generation.pk), event="succeeded", attempt=2)

    second = WebhookDelivery.objects.get(attempt=2)
    assert second.delivered
    assert second.status_code == 200
    assert second.next_attempt_at is None
    assert len(scheduled) == 1
    # Both tries carried the same message id, each its own timestamp and a valid signature.
    first_headers, second_headers = (request.headers for request in receiver.requests)
    assert first_headers["webhook-id"] == second_headers["webhook-id"] == first.message_id
    for request in receiver.requests:
        assert verify(webhook_secret_for(user=user), request.headers, request.body)


def test_the_last_try_schedules_nothing(user, receiver, scheduled):
    receiver.routes["/hook"] = Reply(status=503)
    generation = finished_generation(user, "succeeded", webhook_url=receiver.url("/hook"))
    delivery = webhook_deliver(
        generation_id=str(generation.pk), event="succeeded", attempt=MAX_ATTEMPTS
    )
    assert delivery is not None
    assert not delivery.delivered
    assert delivery.next_attempt_at is None
    assert scheduled == []


def test_a_redirect_is_not_followed_and_counts_as_a_failure(user, receiver, scheduled):
    receiver.routes["/hook"] = Reply(status=307, headers={"Location": "/elsewhere"})
    generation = finished_generation(user, "succeeded", webhook_url=receiver.url("/hook"))
    delivery = webhook_deliver(generation_id=str(generation.pk), event="succeeded", attempt=1)
    assert delivery.status_code == 307
    assert not delivery.delivered
    assert [request.path for request in receiver.requests] == ["/hook"]
    assert len(scheduled) == 1


def test_an_unreachable_receiver_is_retried(user, settings, scheduled):
    settings.FETCH_ALLOW_PRIVATE_HOSTS = ["localhost"]
    with loopback_server() as gone:
        url = gone.url("/hook")
    generation = finished_generation(user, "succeeded", webhook_url=url)
    delivery = webhook_deliver(generation_id=str(generation.pk), event="succeeded", attempt=1)
    assert delivery.status_code is None
    assert "Could not connect" in delivery.error
    assert delivery.next_attempt_at is not None
    assert len(scheduled) == 1


def test_a_url_that_now_resolves_privately_is_not_retried(user, scheduled):
    # Vetted when set; the name could point somewhere private by delivery time.
    generation = finished_generation(user, "succeeded", webhook_url="http://10.0.0.5/hook")
    delivery = webhook_deliver(generation_id=str(generation.pk), event="succeeded", attempt=1)
    assert "private address" in delivery.error
    assert delivery.next_attempt_at is None
    assert scheduled == []


def test_a_redelivered_task_does_not_send_twice(user, receiver, scheduled):
    receiver.routes["/hook"] = Reply(status=500)
    generation = finished_generation(user, "succeeded", webhook_url=receiver.url("/hook"))
    webhook_deliver(generation_id=str(generation.pk), event="succeeded", attempt=1)
    again = webhook_deliver(generation_id=str(generation.pk), event="succeeded", attempt=1)
    assert again is None
    assert len(receiver.requests) == 1
    assert len(scheduled) == 1


def test_nothing_more_is_sent_once_delivered(user, receiver, scheduled):
    generation = finished_generation(user, "succeeded", webhook_url=receiver.url("/hook"))
    webhook_deliver(generation_id=str(generation.pk), event="succeeded", attempt=1)
    assert webhook_deliver(generation_id=str(generation.pk), event="succeeded", attempt=2) is None
    assert len(receiver.requests) == 1


# --- which events -----------------------------------------------------------------------------


def test_the_filter_excludes_events(user, receiver, monkeypatch):
    queued: list[dict] = []
    monkeypatch.setattr(
        tasks.deliver_webhook_task,
        "apply_async",
        lambda *, kwargs, countdown=None, **options: queued.append(kwargs),
    )
    failed = finished_generation(
        user, "failed", webhook_url=receiver.url("/hook"), webhook_events=["succeeded"]
    )
    webhook_enqueue(failed)
    assert queued == []

    succeeded = finished_generation(
        user, "succeeded", webhook_url=receiver.url("/hook"), webhook_events=["succeeded"]
    )
    webhook_enqueue(succeeded)
    assert queued == [{"generation_id": str(succeeded.pk), "event": "succeeded", "attempt": 1}]


def test_a_webhook_the_broker_did_not_take_is_queued_by_the_housekeeping(user, monkeypatch):
    queued: list[dict] = []
    monkeypatch.setattr(
        tasks.deliver_webhook_task,
        "apply_async",
        lambda *, kwargs, countdown=None, **options: queued.append(kwargs),
    )
    long_ago = timezone.now() - timedelta(minutes=2)
    missed = finished_generation(user, "succeeded", webhook_url="https://example.com/h")
    delivered = finished_generation(user, "failed", webhook_url="https://example.com/h")
    WebhookDeliveryFactory(generation=delivered, event="generation.failed")
    just_now = finished_generation(user, "succeeded", webhook_url="https://example.com/h")
    unwanted = finished_generation(
        user, "failed", webhook_url="https://example.com/h", webhook_events=["succeeded"]
    )
    Generation.objects.exclude(pk=just_now.pk).update(finished_at=long_ago)

    assert webhooks.webhooks_enqueue_missed() == 1
    assert queued == [{"generation_id": str(missed.pk), "event": "succeeded", "attempt": 1}]
    assert unwanted.pk  # its filter wants no "failed" event


def test_no_url_or_no_terminal_state_sends_nothing(user, monkeypatch):
    queued: list[dict] = []
    monkeypatch.setattr(
        tasks.deliver_webhook_task,
        "apply_async",
        lambda *, kwargs, countdown=None, **options: queued.append(kwargs),
    )
    webhook_enqueue(finished_generation(user, "succeeded"))
    webhook_enqueue(finished_generation(user, "running", webhook_url="https://example.com/h"))
    assert queued == []


def test_a_failure_to_queue_never_breaks_the_generation(
    user, local_account, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(**kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.deliver_webhook_task, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        generation = submit_with_webhook(user, receiver.url("/hook"))
    generation.refresh_from_db()
    assert generation.status == Generation.Status.SUCCEEDED
    assert receiver.requests == []


def test_the_webhook_is_stored_with_the_generation_before_it_is_dispatched(
    user, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    """The row the run task reads already has its webhook: no window where a fast worker
    finishes a generation whose webhook is not saved yet."""
    seen = []
    monkeypatch.setattr(
        "generations.runtime.dispatch.task_send",
        lambda name, *, kwargs, countdown=None: (
            seen.append(Generation.objects.get(id=kwargs["generation_id"]).webhook_url) or True
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        generation = submit_with_webhook(user, receiver.url("/hook"))
    assert seen == [receiver.url("/hook")]
    assert generation.webhook_url == receiver.url("/hook")


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/hook", "http://169.254.169.254/", "ftp://example.com/"]
)
def test_a_private_or_non_http_url_is_refused_when_set(user, url):
    with pytest.raises(FetchRefused):
        url_vet(url)
    with pytest.raises(SpecError) as refused:
        submit_with_webhook(user, url)
    assert list(refused.value.errors) == ["webhook_url"]
    assert not Generation.objects.exists()


def test_unknown_events_are_refused(user, receiver):
    with pytest.raises(SpecError) as refused:
        submit_with_webhook(user, receiver.url("/hook"), events=["succeeded", "started"])
    assert "'started'" in refused.value.errors["webhook_events"][0]


def test_events_default_to_every_terminal_status(user, receiver, monkeypatch):
    monkeypatch.setattr("generations.runtime.dispatch.task_send", lambda *args, **kwargs: True)
    generation = submit_with_webhook(user, receiver.url("/hook"))
    assert generation.webhook_events == ["succeeded", "partial", "failed", "canceled"]
    assert webhooks.EVENTS == ("succeeded", "partial", "failed", "canceled")


# --- the secret -------------------------------------------------------------------------------


def test_the_secret_shows_on_the_keys_page_and_rotating_is_audited(client, user, other_user):
    client.force_login(user)
    secret = webhook_secret_for(user=user)  # as the first delivery makes it
    theirs = webhook_secret_for(user=other_user)
    page = client.get(reverse("account-keys")).content.decode()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret in page
    assert theirs not in page
    assert "Rotate secret" in page

    response = client.post(
        reverse("account-keys"), {"action": "rotate-webhook-secret"}, follow=True
    )

    new_secret = webhook_secret_for(user=user)
    assert new_secret != secret
    body = response.content.decode()
    assert new_secret in body
    assert secret not in body
    event = AuditEvent.objects.get(action="webhook_secret.rotated")
    assert event.actor == user
    assert event.target_id == str(user.pk)
    assert secret not in json.dumps(event.after)
    assert new_secret not in json.dumps(event.after)
    assert webhook_secret_for(user=other_user) == theirs


def test_the_keys_page_offers_to_create_a_secret_without_writing_on_get(client, user):
    client.force_login(user)
    page = client.get(reverse("account-keys")).content.decode()
    assert "Create secret" in page
    assert not WebhookSecret.objects.exists()

    client.post(reverse("account-keys"), {"action": "rotate-webhook-secret"})

    assert webhook_secret_for(user=user) in client.get(reverse("account-keys")).content.decode()
    assert AuditEvent.objects.get(action="webhook_secret.created").actor == user


def test_the_secret_is_made_once(user):
    assert webhook_secret_for(user=user) == webhook_secret_for(user=user)
    assert WebhookSecret.objects.filter(user=user).count() == 1
