"""Signed, expiring output links: usable without a session, useless once changed or expired."""

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from generations.models import Generation, OutputImage
from generations.security import signed_links as media_links
from generations.security.signed_links import absolute_url, output_url, thumbnail_url
from generations.services.images import image_store, thumbnail_store
from tests.conftest import make_png
from tests.factories import GenerationFactory, OutputImageFactory

pytestmark = pytest.mark.django_db


def make_output(owner, color=(10, 120, 200)) -> OutputImage:
    content = make_png(80, 60, color)
    stored = image_store(content=content, folder="outputs")
    generation = GenerationFactory(owner=owner, prompt="a quiet harbour", status="succeeded")
    return OutputImageFactory(
        generation=generation,
        index=0,
        file=stored.name,
        thumbnail=thumbnail_store(content=content, source_sha256=stored.facts.sha256),
        sha256=stored.facts.sha256,
        width=stored.facts.width,
        height=stored.facts.height,
        format=stored.facts.format,
        bytes=stored.facts.bytes,
    )


@pytest.fixture
def output(user) -> OutputImage:
    return make_output(user)


def parts(url: str) -> tuple[str, dict[str, str]]:
    split = urlsplit(url)
    return split.path, {name: values[0] for name, values in parse_qs(split.query).items()}


def with_query(path: str, query: dict[str, str]) -> str:
    return f"{path}?{urlencode(query)}"


def stored_bytes(name: str) -> bytes:
    with default_storage.open(name, "rb") as stored:
        return stored.read()


def test_a_signed_link_works_without_a_session(client, output, settings):
    url = output_url(output)
    path, query = parts(url)
    assert path == f"/media/o/{output.pk}/full"
    assert int(query["exp"]) - time.time() == pytest.approx(settings.MEDIA_LINK_TTL_S, abs=2)

    response = client.get(url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == stored_bytes(output.file.name)
    assert response["Content-Type"] == "image/png"
    cache_control = response["Cache-Control"]
    assert cache_control.startswith("private, max-age=")
    assert 0 < int(cache_control.rsplit("=", 1)[1]) <= settings.MEDIA_LINK_TTL_S


def test_a_thumbnail_link_serves_the_jpeg_thumbnail(client, output):
    response = client.get(thumbnail_url(output))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == stored_bytes(output.thumbnail.name)


def test_the_lifetime_comes_from_settings(output, settings):
    settings.MEDIA_LINK_TTL_S = 60
    _, query = parts(output_url(output, now=1_700_000_000))
    assert query["exp"] == "1700000060"


def test_the_session_view_still_requires_login(client, output):
    response = client.get(reverse("output-file", args=[output.pk]))
    assert response.status_code == 302


@pytest.mark.parametrize("part", ["exp", "sig"])
def test_a_tampered_query_is_403(client, output, part):
    path, query = parts(output_url(output))
    sig = query["sig"]
    # Change the first character for sure (a signature may already start with "A").
    tampered_sig = ("B" if sig[0] == "A" else "A") + sig[1:]
    query[part] = str(int(query["exp"]) + 86_400) if part == "exp" else tampered_sig
    response = client.get(with_query(path, query))
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == "This link is not valid."


def test_a_link_without_its_signature_is_403(client, output):
    path, query = parts(output_url(output))
    assert client.get(path).status_code == 403
    assert client.get(with_query(path, {"exp": query["exp"]})).status_code == 403
    assert client.get(with_query(path, {"exp": "soon", "sig": query["sig"]})).status_code == 403


def test_the_signature_binds_the_variant(client, output):
    _, query = parts(output_url(output))
    thumbnail_path = reverse("media-signed", args=[output.pk, "thumbnail"])
    assert client.get(with_query(thumbnail_path, query)).status_code == 403
    unknown_path = reverse("media-signed", args=[output.pk, "original"])
    assert client.get(with_query(unknown_path, query)).status_code == 403


def test_a_signature_does_not_open_another_users_image(client, output, other_user):
    """Swapping the id in my link for the id of someone else's private image gets nothing."""
    theirs = make_output(other_user, color=(250, 10, 10))
    _, query = parts(output_url(output))
    their_path = reverse("media-signed", args=[theirs.pk, "full"])
    response = client.get(with_query(their_path, query))
    assert response.status_code == 403


def test_an_expired_link_is_403(client, output, settings):
    issued_at = time.time() - settings.MEDIA_LINK_TTL_S - 1
    response = client.get(output_url(output, now=issued_at))
    assert response.status_code == 403
    assert "expired" in response.content.decode()


def test_a_link_expires_when_its_time_comes(client, output, settings, monkeypatch):
    url = output_url(output)
    issued_at = time.time()
    monkeypatch.setattr(time, "time", lambda: issued_at + settings.MEDIA_LINK_TTL_S - 5)
    assert client.get(url).status_code == 200
    monkeypatch.setattr(time, "time", lambda: issued_at + settings.MEDIA_LINK_TTL_S + 1)
    assert client.get(url).status_code == 403


def test_links_survive_a_secret_key_rotation_through_the_fallbacks(client, output, settings):
    url = output_url(output)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-secret-key-for-this-test-" + "x" * 20
    assert client.get(url).status_code == 403
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert client.get(url).status_code == 200


def test_a_deleted_generations_links_stop_working(client, output):
    url = output_url(output)
    Generation.objects.filter(pk=output.generation_id).update(deleted_at=timezone.now())
    assert client.get(url).status_code == 404


def test_without_a_request_absolute_url_uses_the_public_base_url(output, settings):
    settings.PUBLIC_BASE_URL = "https://studio.example.com/"
    assert absolute_url(output_url(output), request=None).startswith(
        f"https://studio.example.com/media/o/{output.pk}/full?exp="
    )
    presigned = "https://bucket.s3.amazonaws.com/x"
    assert absolute_url(presigned, request=None) == presigned


def test_with_a_request_absolute_url_uses_its_host(output, settings, rf):
    settings.PUBLIC_BASE_URL = "https://studio.example.com/"
    settings.ALLOWED_HOSTS = ["studio.lan"]
    request = rf.get("/", HTTP_HOST="studio.lan:8101")
    assert absolute_url(output_url(output), request=request).startswith(
        f"http://studio.lan:8101/media/o/{output.pk}/full?exp="
    )
    presigned = "https://bucket.s3.amazonaws.com/x"
    assert absolute_url(presigned, request=request) == presigned


def test_s3_storage_gets_its_own_presigned_url(output, settings, monkeypatch):
    class FakeS3Storage:
        bucket = object()
        querystring_auth = True

        def __init__(self) -> None:
            self.calls: list[tuple[str, int]] = []

        def url(self, name: str, expire: int | None = None) -> str:
            self.calls.append((name, expire))
            return f"https://bucket.s3.amazonaws.com/{name}?X-Amz-Expires={expire}"

    fake = FakeS3Storage()
    monkeypatch.setattr(media_links, "default_storage", fake)
    settings.MEDIA_LINK_TTL_S = 900

    assert output_url(output).startswith("https://bucket.s3.amazonaws.com/outputs/")
    assert thumbnail_url(output).startswith("https://bucket.s3.amazonaws.com/thumbnails/")
    assert fake.calls == [(output.file.name, 900), (output.thumbnail.name, 900)]
