"""Media on S3 through django-storages, against moto's S3 server on loopback.

Outputs and thumbnails are written by the real generation path, read back through the
storage, and downloaded by a client without credentials through the presigned links the API
hands out.
"""

import io
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from accounts.models import User
from generations.catalog import GenerationSpec
from generations.models import Generation
from generations.security.signed_links import output_url, thumbnail_url
from generations.services import generation_submit
from generations.services.images import storage_read
from seedream_site.observability.health import check_storage

from .conftest import BUCKET, S3_REGION, load_settings, s3_client

pytestmark = pytest.mark.django_db


def run_generation(user: User, capture: Callable[..., Any]) -> Generation:
    spec = GenerationSpec(model="seedream-4.0", prompt="a harbour at dawn", size="1K", num_images=2)
    with capture(execute=True):
        generation = generation_submit(user=user, spec=spec)
    generation.refresh_from_db()
    return generation


def test_outputs_and_thumbnails_are_written_read_and_downloaded_through_presigned_links(
    s3_storage, user, local_account, django_capture_on_commit_callbacks
):
    generation = run_generation(user, django_capture_on_commit_callbacks)

    assert generation.status == Generation.Status.SUCCEEDED
    assert type(default_storage._wrapped).__name__ == "S3Storage"
    client = s3_client(s3_storage)
    outputs = list(generation.outputs.all())
    assert len(outputs) == 2
    for output in outputs:
        # In the bucket, under the names the rows record, with the bytes the rows describe.
        stored = client.get_object(Bucket=BUCKET, Key=output.file.name)["Body"].read()
        assert len(stored) == output.bytes
        assert storage_read(output.file.name) == stored
        thumbnail = storage_read(output.thumbnail.name)
        assert max(Image.open(io.BytesIO(thumbnail)).size) <= 512

        link = output_url(output)
        parsed = urlparse(link)
        assert f"{parsed.scheme}://{parsed.netloc}" == s3_storage
        query = parse_qs(parsed.query)
        assert query["X-Amz-Expires"] == ["3600"]  # MEDIA_LINK_TTL_S
        assert "X-Amz-Signature" in query
        downloaded = httpx.get(link, timeout=10)
        assert downloaded.status_code == 200
        assert downloaded.content == stored
        thumbnail_download = httpx.get(thumbnail_url(output), timeout=10)
        assert thumbnail_download.status_code == 200
        assert thumbnail_download.content == thumbnail


def test_objects_are_private(s3_storage, user, local_account, django_capture_on_commit_callbacks):
    generation = run_generation(user, django_capture_on_commit_callbacks)
    output = generation.outputs.first()
    grants = s3_client(s3_storage).get_object_acl(Bucket=BUCKET, Key=output.file.name)["Grants"]
    grantees = {grant["Grantee"].get("URI", grant["Grantee"].get("ID")) for grant in grants}
    assert not any(
        "AllUsers" in str(grantee) or "AuthenticatedUsers" in str(grantee) for grantee in grantees
    )


def test_same_image_is_stored_once(
    s3_storage, user, local_account, django_capture_on_commit_callbacks
):
    first = run_generation(user, django_capture_on_commit_callbacks)
    # The demo renderer is deterministic from prompt and seed: the same request, the same bytes.
    seed = first.seed_used
    spec = GenerationSpec(
        model="seedream-4.0", prompt="a harbour at dawn", size="1K", num_images=2, seed=seed
    )
    with django_capture_on_commit_callbacks(execute=True):
        second = generation_submit(user=user, spec=spec)
    names_first = sorted(output.file.name for output in first.outputs.all())
    names_second = sorted(output.file.name for output in second.outputs.all())
    assert names_first == names_second
    assert all("_" not in name.rsplit("/", 1)[-1].split(".")[0] for name in names_second)


def test_health_check_reaches_the_bucket(s3_storage):
    check_storage()


def test_health_check_fails_for_a_missing_bucket(s3_storage, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**settings.STORAGES["default"]["OPTIONS"], "bucket_name": "no-such-bucket"},
        },
    }
    with pytest.raises(Exception, match=r"404|Not Found|NoSuchBucket"):
        check_storage()


def test_settings_build_the_s3_storage_from_the_environment(s3_endpoint):
    # A bucket name alone selects S3 (STORAGE_BACKEND unset).
    loaded = load_settings(
        {
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_S3_ENDPOINT_URL": s3_endpoint,
            "AWS_S3_REGION_NAME": S3_REGION,
            "AWS_ACCESS_KEY_ID": "id",
            "AWS_SECRET_ACCESS_KEY": "secret-value",
            "AWS_S3_ADDRESSING_STYLE": "path",
            "MEDIA_LINK_TTL_S": "900",
        }
    )
    options = loaded["STORAGES"]["default"]["OPTIONS"]
    assert options["bucket_name"] == BUCKET
    assert options["endpoint_url"] == s3_endpoint
    assert options["region_name"] == S3_REGION
    assert (options["access_key"], options["secret_key"]) == ("id", "secret-value")
    assert options["querystring_auth"] is True
    assert options["querystring_expire"] == 900
    assert "default_acl" not in options  # no ACL sent: the bucket's private default applies
    config = options["client_config"]
    assert config.signature_version == "s3v4"
    assert config.s3 == {"addressing_style": "path"}
    # The S3 secret never reaches a log line.
    assert "secret-value" in loaded["SECRETS_NEVER_LOGGED"]


def test_custom_domain_without_a_signing_key_is_refused():
    with pytest.raises(ImproperlyConfigured, match="AWS_CLOUDFRONT_KEY_ID"):
        load_settings({"AWS_STORAGE_BUCKET_NAME": BUCKET, "AWS_S3_CUSTOM_DOMAIN": "cdn.example"})


def test_presigned_links_cannot_outlive_seven_days():
    with pytest.raises(ImproperlyConfigured, match="MEDIA_LINK_TTL_S"):
        load_settings({"AWS_STORAGE_BUCKET_NAME": BUCKET, "MEDIA_LINK_TTL_S": "700000"})


def test_filesystem_stays_the_default_without_a_bucket():
    storages = load_settings({})["STORAGES"]
    assert storages["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_pages_serve_outputs_from_the_bucket(
    s3_storage, client, user, local_account, django_capture_on_commit_callbacks
):
    generation = run_generation(user, django_capture_on_commit_callbacks)
    output = generation.outputs.first()
    client.force_login(user)
    response = client.get(reverse("output-file", args=[output.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == storage_read(output.file.name)
