"""The OpenAPI schema builds without warnings, is served with its docs page (no CDN), and a
bounded schemathesis pass over the native API finds no server error."""

from collections.abc import Iterator

import pytest
import schemathesis
import yaml
from django.core.cache import cache
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from accounts.services.keys import api_key_create
from seedream_site.wsgi import application


def test_schema_builds_without_warnings_and_validates(tmp_path):
    target = tmp_path / "schema.yaml"
    # --fail-on-warn turns any warning (an unresolvable serializer, a name collision, an
    # untyped path parameter) into an error, so this call raising is the failure.
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/generations",
        "/api/v1/generations/{generation_id}",
        "/api/v1/generations/{generation_id}/cancel",
        "/api/v1/generations/{generation_id}/events",
        "/api/v1/comparisons",
        "/api/v1/comparisons/{comparison_id}",
        "/api/v1/uploads",
        "/api/v1/uploads/{upload_id}",
        "/api/v1/models",
        "/api/v1/me",
        "/api/v1/me/usage",
        "/api/v1/keys",
        "/api/v1/keys/{key_id}",
    }
    assert "ApiKeyBearer" in schema["components"]["securitySchemes"]


@pytest.mark.django_db
def test_schema_and_docs_are_served_without_a_cdn(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert "openapi: 3" in response.content.decode()
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs"):
        assert cdn not in html


@pytest.fixture
def wsgi_requests_keep_the_test_connection() -> Iterator[None]:
    """Django closes the database connection after each request it serves through WSGI, which
    would end the test's transaction; its own test client avoids that the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# Per operation and generation mode; about 600 requests in all, some 15 seconds.
EXAMPLES_PER_OPERATION = 20
GENERATION_PATHS = (
    # Delete last: after it the generation reads as missing.
    ("GET", "/api/v1/generations/{generation_id}"),
    ("GET", "/api/v1/generations/{generation_id}/events"),
    ("POST", "/api/v1/generations/{generation_id}/cancel"),
    ("DELETE", "/api/v1/generations/{generation_id}"),
)


@pytest.mark.fuzz
@pytest.mark.django_db
def test_native_api_answers_no_server_error(
    user, make_generation, wsgi_requests_keep_the_test_connection
):
    """Valid and invalid requests (schemathesis' positive and negative modes) to every
    operation of the served schema, with a real key: none may answer 5xx.

    Random ids never name a stored generation, so the operations on one generation run a
    second time on a finished one of the caller's. Driven from one test rather than
    schemathesis' pytest integration, whose lazy loader does not run under pytest 9.
    """
    headers = {"Authorization": f"Bearer {api_key_create(user=user, name='schemathesis').key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    operations = {
        (operation.method.upper(), operation.path): operation
        for operation in (result.ok() for result in schema.get_all_operations())
    }
    assert len(operations) == 17

    def no_server_error(strategy: SearchStrategy[schemathesis.Case]) -> None:
        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            # The same examples every run; no example database written into the work tree.
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def check(case: schemathesis.Case) -> None:
            cache.clear()  # rate limits are not what this pass is about
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()

    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    # Revoking keys runs last: a guessed id may be the very key these requests send.
    revoke_key = operations.pop(("DELETE", "/api/v1/keys/{key_id}"))
    for operation in operations.values():
        for mode in modes:
            no_server_error(operation.as_strategy(generation_mode=mode))

    generation_id = str(make_generation(user).id)

    def on_existing_generation(case: schemathesis.Case) -> schemathesis.Case:
        case.path_parameters = {**(case.path_parameters or {}), "generation_id": generation_id}
        return case

    for key in GENERATION_PATHS:
        for mode in modes:
            no_server_error(
                operations[key].as_strategy(generation_mode=mode).map(on_existing_generation)
            )
    for mode in modes:
        no_server_error(revoke_key.as_strategy(generation_mode=mode))
