"""Answers nothing else handles keep each interface's shape: JSON under /api/ and /v1/, a page
with a way back elsewhere."""

import pytest
from django.test import RequestFactory

from seedream_site.error_pages import server_error
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here", "/api/v1/generations/not-a-uuid", "/api/v2/"]
)
def test_unknown_api_paths_answer_the_native_envelope(client, user, path):
    for caller in (client, key_client(user)):
        response = caller.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == "not_found"
        assert "/api/docs/" in response.json()["error"]["message"]


def test_unknown_openai_paths_answer_openais_envelope(client):
    response = client.post("/v1/images/nothing", content_type="application/json")
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"message", "type", "code", "param"}


def test_an_unknown_page_is_a_page_with_a_way_back(client, user):
    client.force_login(user)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body
    assert 'href="/"' in body
    assert 'class="mainnav"' in body  # the workspace's navigation


@pytest.mark.parametrize(
    ("path", "shape"), [("/api/v1/me", "native"), ("/v1/models", "openai"), ("/", "page")]
)
def test_an_uncaught_error_answers_500_in_the_interfaces_shape(path, shape):
    response = server_error(RequestFactory().get(path))
    assert response.status_code == 500
    if shape == "native":
        assert b'"internal_error"' in response.content
    elif shape == "openai":
        assert b'"server_error"' in response.content
    else:
        assert b"Something went wrong" in response.content
        assert b"Back to the workspace" in response.content


def too_many_fields() -> dict[str, str]:
    return {f"field{i}": "1" for i in range(1_100)}  # DATA_UPLOAD_MAX_NUMBER_FIELDS is 1000


def test_a_body_django_refuses_while_reading_keeps_the_apis_shape(user, local_account):
    response = key_client(user).post(
        "/api/v1/generations",
        {"model": "seedream-4.0", "prompt": "x", **too_many_fields()},
        format="multipart",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "at most 1000 fields" in response.json()["error"]["message"]


def test_a_body_over_djangos_limit_is_a_413_in_each_shape(client, user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    api = key_client(user).post(
        "/api/v1/generations", {"model": "seedream-4.0", "prompt": "x" * 500}, format="multipart"
    )
    assert api.status_code == 413
    assert api.json()["error"]["code"] == "request_too_large"
    client.force_login(user)
    page = client.post("/", {"prompt": "x" * 500})
    assert page.status_code == 413
    assert b"Request too large" in page.content
