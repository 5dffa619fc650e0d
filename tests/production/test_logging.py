"""Structured logs: request and generation ids on every line, secrets on none."""

import io
import json
import logging
import re

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from generations.models import Generation, ProviderAccount
from seedream_site.observability.logs import JsonFormatter, PlainFormatter
from seedream_site.observability.middleware import RequestIdMiddleware
from studio_core import redaction
from studio_core.log_context import (
    bind_generation,
    bind_request_id,
    current_generation_id,
    current_request_id,
)
from studio_core.redaction import redact, remember_secret
from tests.factories import ProviderAccountFactory

API_KEY = "sds_0123456789ab_Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXgx"
PROVIDER_SECRET = "pk-live-7f3a9c0d5e1b2a4c6d8e0f1a3b5c7d9e"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {API_KEY} used", "key sds_0123456789ab_[REDACTED] used"),
        ("key sds_notwellformed_but-long-enough-to-be-a-key", "key sds_[REDACTED]"),
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer [REDACTED]"),
        ("{'Authorization': 'Key id:secret'}", "{'Authorization': 'Key [REDACTED]'}"),
        ('{"authorization": "Token r8_abc"}', '{"authorization": "Token [REDACTED]"}'),
        ("(b'authorization', b'Bearer xyz')", "(b'authorization', b'Bearer [REDACTED]')"),
        (
            "{'HTTP_AUTHORIZATION': 'Basic dXNlcjpwdw=='}",
            "{'HTTP_AUTHORIZATION': 'Basic [REDACTED]'}",
        ),
        ("x-api-key: abc123", "x-api-key: [REDACTED]"),
        (
            "ProviderCall(api_key='abc123', model='m')",
            "ProviderCall(api_key='[REDACTED]', model='m')",
        ),
        ("sent bearer tok_123 upstream", "sent bearer [REDACTED] upstream"),
        ("redis://:hunter22@redis:6379/0", "redis://:[REDACTED]@redis:6379/0"),
        ("postgres://app:s3cr3t@db/seedream", "postgres://app:[REDACTED]@db/seedream"),
        ("api_key.created for alice", "api_key.created for alice"),
        ("Authorization failed for this account", "Authorization failed for this account"),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


def test_remembered_secrets_are_redacted_anywhere():
    remember_secret("short")  # too short to be a credential: left alone
    remember_secret(PROVIDER_SECRET)
    assert redact(f"upstream said: bad key {PROVIDER_SECRET}!") == (
        "upstream said: bad key [REDACTED]!"
    )
    assert redact("short words stay") == "short words stay"


def test_every_record_is_scrubbed_at_creation(caplog):
    remember_secret(PROVIDER_SECRET)
    logger = logging.getLogger("seedream.test")
    with caplog.at_level(logging.DEBUG):
        logger.warning("key %s and %s", API_KEY, PROVIDER_SECRET)
        try:
            raise ValueError(f"provider refused {PROVIDER_SECRET}")
        except ValueError:
            logger.exception("call failed")
    assert API_KEY not in caplog.text
    assert PROVIDER_SECRET not in caplog.text
    first, second = caplog.records
    assert first.getMessage() == "key sds_0123456789ab_[REDACTED] and [REDACTED]"
    assert "provider refused [REDACTED]" in second.exc_text


def test_json_formatter_carries_ids_and_scalar_extras():
    formatter = JsonFormatter()
    record = logging.LogRecord("seedream.test", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    record.status = 201
    record.request = object()  # an object: left out, its repr is not scrubbed
    with bind_request_id("req-1"), bind_generation("gen-1"):
        line = json.loads(formatter.format(record))
    assert line["message"] == "hello x"
    assert line["level"] == "INFO"
    assert line["logger"] == "seedream.test"
    assert (line["request_id"], line["generation_id"]) == ("req-1", "gen-1")
    assert line["status"] == 201
    assert "request" not in line
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", line["time"])
    outside = json.loads(formatter.format(record))
    assert (outside["request_id"], outside["generation_id"]) == (None, None)


def test_an_explicit_generation_id_wins_over_the_context():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "m", (), None)
    record.generation_id = "explicit"
    with bind_generation("context"):
        assert json.loads(JsonFormatter().format(record))["generation_id"] == "explicit"


def test_plain_formatter_shows_ids_only_when_there_are_some():
    formatter = PlainFormatter()
    record = logging.LogRecord("seedream.test", logging.INFO, __file__, 1, "hello", (), None)
    assert formatter.format(record).endswith(" INFO seedream.test: hello")
    with bind_request_id("req-1"), bind_generation("gen-1"):
        assert formatter.format(record).endswith(
            " INFO seedream.test [request=req-1 generation=gen-1]: hello"
        )


def test_bind_generation_nests_and_restores():
    with bind_generation("outer"):
        with bind_generation("inner"):
            assert current_generation_id() == "inner"
        assert current_generation_id() == "outer"
    assert current_generation_id() is None


def view_seeing_the_request_id(request: HttpRequest) -> HttpResponse:
    return HttpResponse(current_request_id())


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [("", False), ("edge-4f2a.77", True), ("x" * 200, False), ("forged\nline", False)],
)
def test_request_id_is_taken_or_made_and_echoed(incoming, kept):
    middleware = RequestIdMiddleware(view_seeing_the_request_id)
    headers = {"HTTP_X_REQUEST_ID": incoming} if incoming else {}
    response = middleware(RequestFactory().get("/somewhere", **headers))
    request_id = response["X-Request-Id"]
    assert response.content.decode() == request_id
    if kept:
        assert request_id == incoming
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert current_request_id() is None


def test_request_id_middleware_runs_async_without_a_thread():
    async def async_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(current_request_id())

    middleware = RequestIdMiddleware(async_view)
    request = RequestFactory().get("/", HTTP_X_REQUEST_ID="async-1")
    response = async_to_sync(middleware)(request)
    assert response["X-Request-Id"] == "async-1"
    assert response.content == b"async-1"


@pytest.fixture
def account_with_secret(db, default_prices) -> ProviderAccount:
    return ProviderAccountFactory(
        kind=ProviderAccount.Kind.LOCAL,
        label="Demo with a key",
        options={"latency_s": 0},
        api_key=PROVIDER_SECRET,
    )


@pytest.fixture
def fresh_secret_registry(monkeypatch, account_with_secret) -> None:
    """As in a web or worker process that did not store the key: it learns the secret only
    when it decrypts it to call the provider."""
    monkeypatch.setattr(redaction, "_known_secrets", set())
    monkeypatch.setattr(redaction, "_known_secrets_ordered", ())


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_secret_registry")
def test_a_full_flow_never_logs_the_api_key_or_the_provider_secret(
    client, user, account_with_secret, caplog, django_capture_on_commit_callbacks
):
    # Every logger at DEBUG, SQL included, into caplog and through the JSON formatter.
    json_output = io.StringIO()
    json_handler = logging.StreamHandler(json_output)
    json_handler.setFormatter(JsonFormatter())
    json_handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(json_handler)
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    connection.force_debug_cursor = True
    try:
        client.force_login(user)
        created = client.post("/account/keys/", {"name": "render script"}, follow=True)
        assert created.redirect_chain == [("/account/keys/", 303)]
        api_key = created.context["issued"].key
        client.logout()

        headers = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/api/v1/generations",
                {"model": "seedream-4.0", "prompt": "a lighthouse", "size": "1K"},
                content_type="application/json",
                **headers,
            )
        assert response.status_code in (201, 202), response.content
        generation = Generation.objects.get()
        generation.refresh_from_db()
        assert generation.status == Generation.Status.SUCCEEDED
        assert generation.attempts.get().account == account_with_secret
        assert client.get(f"/api/v1/generations/{generation.pk}", **headers).status_code == 200
        wrong_key = api_key[:-4] + "AAAA"
        assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {wrong_key}").status_code == 401

        # Code that carelessly logs what it holds: the lines are written, the secrets are not.
        careless = logging.getLogger("generations.careless")
        with bind_generation(generation.pk):
            careless.debug("request headers %s", {"Authorization": f"Bearer {api_key}"})
            careless.info("provider key %s", PROVIDER_SECRET, extra={"api_key": api_key})
            try:
                raise RuntimeError(f"provider rejected {PROVIDER_SECRET}")
            except RuntimeError:
                careless.exception("provider call failed")
    finally:
        connection.force_debug_cursor = False
        root.removeHandler(json_handler)

    json_lines = [json.loads(line) for line in json_output.getvalue().splitlines()]
    everything = "\n".join(
        [caplog.text, json_output.getvalue(), *(record.getMessage() for record in caplog.records)]
    )
    assert len(caplog.records) > 20  # the capture saw the flow, SQL and requests included
    for secret in (api_key, wrong_key, PROVIDER_SECRET):
        assert secret not in everything
    for key in (api_key, wrong_key):
        assert key.split("_", 2)[2] not in everything  # not even the part after the prefix
    careless_lines = [line for line in json_lines if line["logger"] == "generations.careless"]
    assert len(careless_lines) == 3
    assert all(line["generation_id"] == str(generation.pk) for line in careless_lines)
    assert "[REDACTED]" in careless_lines[1]["message"]
    assert careless_lines[1]["api_key"].endswith("_[REDACTED]")
    assert "[REDACTED]" in careless_lines[2]["exception"]
    access_lines = [line for line in json_lines if line["logger"] == "seedream_site.requests"]
    assert {line["path"] for line in access_lines} >= {"/api/v1/generations", "/api/v1/me"}
    assert all(re.fullmatch(r"[0-9a-f]{32}", line["request_id"]) for line in access_lines)
