"""Signed, expiring links to reference images, which providers taking only URLs fetch."""

import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from generations.models import Generation, ReferenceImage
from generations.security import signed_links as media_links
from generations.security.signed_links import output_url, reference_link
from generations.services.images import image_store
from generations.services.run import provider_request
from tests.conftest import make_png
from tests.factories import GenerationFactory, ReferenceImageFactory
from tests.security.test_media_links import make_output

pytestmark = pytest.mark.django_db


@pytest.fixture
def reference(user) -> ReferenceImage:
    content = make_png(40, 30, (200, 40, 40))
    stored = image_store(content=content, folder="references")
    generation = GenerationFactory(
        owner=user,
        prompt="a red kite",
        params={"size": "2K", "aspect_ratio": "1:1", "width": 2048, "height": 2048},
    )
    return ReferenceImageFactory(
        generation=generation,
        position=0,
        file=stored.name,
        sha256=stored.facts.sha256,
        width=stored.facts.width,
        height=stored.facts.height,
        format=stored.facts.format,
        bytes=stored.facts.bytes,
    )


def stored_bytes(name: str) -> bytes:
    with default_storage.open(name, "rb") as stored:
        return stored.read()


def path_and_query(url: str) -> tuple[str, dict[str, str]]:
    split = urlsplit(url)
    return split.path, {name: values[0] for name, values in parse_qs(split.query).items()}


def test_the_link_is_absolute_on_the_public_base_url_and_needs_no_session(
    client, reference, settings
):
    # A worker builds it, with no request to take a host from.
    settings.PUBLIC_BASE_URL = "https://studio.example"

    link = reference_link(reference)

    assert link.startswith(f"https://studio.example/media/r/{reference.pk}?")
    _, query = path_and_query(link)
    assert int(query["exp"]) - time.time() == pytest.approx(settings.MEDIA_LINK_TTL_S, abs=2)
    response = client.get(link)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == stored_bytes(reference.file.name)
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"].startswith("private, max-age=")


def test_a_changed_id_or_signature_is_403(client, reference):
    path, query = path_and_query(reference_link(reference))

    other = path.replace(f"/{reference.pk}", f"/{reference.pk + 1}")
    assert client.get(f"{other}?{urlencode(query)}").status_code == 403
    tampered = dict(query, sig=query["sig"][:-2] + "AA")
    assert client.get(f"{path}?{urlencode(tampered)}").status_code == 403


def test_an_output_links_signature_does_not_open_a_reference(client, user, reference):
    output = make_output(user)
    _, output_query = path_and_query(output_url(output))
    # Same id, same expiry: only the salt tells them apart.
    ReferenceImage.objects.filter(pk=reference.pk).update(id=output.pk)

    response = client.get(f"/media/r/{output.pk}?{urlencode(output_query)}")

    assert response.status_code == 403


def test_an_expired_link_is_403(client, reference, settings):
    issued_at = time.time() - settings.MEDIA_LINK_TTL_S - 1

    response = client.get(reference_link(reference, now=issued_at))

    assert response.status_code == 403
    assert "expired" in response.content.decode()


def test_a_deleted_generations_reference_links_stop_working(client, reference):
    link = reference_link(reference)
    Generation.objects.filter(pk=reference.generation_id).update(deleted_at=timezone.now())

    assert client.get(link).status_code == 404


def test_on_s3_the_link_is_the_storages_presigned_url(reference, settings, monkeypatch):
    class PresigningStorage:
        bucket = object()
        querystring_auth = True

        def __init__(self) -> None:
            self.calls: list[tuple[str, Any]] = []

        def url(self, name: str, expire: int | None = None) -> str:
            self.calls.append((name, expire))
            return f"https://bucket.s3.example/{name}?X-Amz-Expires={expire}"

    storage = PresigningStorage()
    monkeypatch.setattr(media_links, "default_storage", storage)

    link = reference_link(reference)

    assert storage.calls == [(reference.file.name, settings.MEDIA_LINK_TTL_S)]
    assert link.endswith(f"?X-Amz-Expires={settings.MEDIA_LINK_TTL_S}")


def test_the_provider_request_carries_each_references_bytes_and_signed_link(reference, settings):
    settings.PUBLIC_BASE_URL = "https://studio.example"

    (sent,) = provider_request(reference.generation).references

    assert sent.content == stored_bytes(reference.file.name)
    assert sent.mime == "image/png"
    assert sent.link is not None
    assert sent.link.startswith(f"https://studio.example/media/r/{reference.pk}?exp=")
