"""Image links in replies name the host the client reached, whatever its name or port; forwarded
headers count only behind a proxy the operator trusts (DJANGO_TRUST_PROXY_HEADERS)."""

import pytest

from tests.api.conftest import key_client
from tests.api.test_generations_api import BODY, parse_events

pytestmark = pytest.mark.django_db

HOST = "studio.lan:8101"
LINKS_ON_HOST = "http://studio.lan:8101/media/o/"


@pytest.fixture(autouse=True)
def studio_lan_allowed(settings):
    # What DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost,[::1],studio.lan gives; PUBLIC_BASE_URL is
    # somewhere else, so a link that used it would show.
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "studio.lan", "studio.example.com"]
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"


def links(generation: dict) -> list[str]:
    return [
        link
        for output in generation["outputs"]
        for link in (output["url"], output["thumbnail_url"])
    ]


def test_create_retrieve_and_list_link_to_the_requests_host(
    user, local_account, django_capture_on_commit_callbacks
):
    client = key_client(user)
    with django_capture_on_commit_callbacks(execute=True):  # the demo provider runs inline
        created = client.post(
            "/api/v1/generations", {**BODY, "num_images": 2}, format="json", HTTP_HOST=HOST
        )
    assert created.status_code == 201, created.json()
    generation_id = created.json()["id"]
    retrieved = client.get(f"/api/v1/generations/{generation_id}", HTTP_HOST=HOST).json()
    listed = client.get("/api/v1/generations", HTTP_HOST=HOST).json()["results"][0]
    for reply in (retrieved, listed):
        assert len(links(reply)) == 4
        assert all(link.startswith(LINKS_ON_HOST) for link in links(reply)), links(reply)


def test_an_event_streams_output_links_to_the_requests_host(user, make_generation):
    generation = make_generation(user, num_images=2)
    response = key_client(user).get(f"/api/v1/generations/{generation.id}/events", HTTP_HOST=HOST)
    outputs = [data for name, data in parse_events(response) if name == "output"]
    assert len(outputs) == 2
    assert all(
        data["url"].startswith(LINKS_ON_HOST) and data["thumbnail_url"].startswith(LINKS_ON_HOST)
        for data in outputs
    ), outputs


def test_a_link_opens_the_image_on_that_host(user, make_generation, client):
    generation = make_generation(user)
    reply = key_client(user).get(f"/api/v1/generations/{generation.id}", HTTP_HOST=HOST).json()
    link = reply["outputs"][0]["url"]
    image = client.get(link.removeprefix("http://studio.lan:8101"), HTTP_HOST=HOST)
    assert image.status_code == 200
    assert image["Content-Type"].startswith("image/")


def test_forged_forwarded_headers_are_ignored(user, make_generation):
    generation = make_generation(user)
    reply = (
        key_client(user)
        .get(
            f"/api/v1/generations/{generation.id}",
            HTTP_HOST=HOST,
            HTTP_X_FORWARDED_HOST="studio.example.com",
            HTTP_X_FORWARDED_PROTO="https",
        )
        .json()
    )
    assert all(link.startswith(LINKS_ON_HOST) for link in links(reply)), links(reply)


def test_a_trusted_proxys_forwarded_host_and_scheme_are_honoured(user, make_generation, settings):
    # What DJANGO_TRUST_PROXY_HEADERS=true sets (tests/production checks the mapping).
    settings.USE_X_FORWARDED_HOST = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    generation = make_generation(user)
    reply = (
        key_client(user)
        .get(
            f"/api/v1/generations/{generation.id}",
            HTTP_HOST="10.0.0.5:8000",
            HTTP_X_FORWARDED_HOST="studio.example.com",
            HTTP_X_FORWARDED_PROTO="https",
        )
        .json()
    )
    assert all(link.startswith("https://studio.example.com/media/o/") for link in links(reply)), (
        links(reply)
    )


def test_a_host_that_is_not_allowed_gets_no_links(user, make_generation):
    generation = make_generation(user)
    response = key_client(user).get(
        f"/api/v1/generations/{generation.id}", HTTP_HOST="attacker.example"
    )
    assert response.status_code == 400
