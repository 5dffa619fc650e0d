"""POST /api/v1/uploads: reference images stored once, usable by their owner only."""

import io
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from generations.models import Upload
from generations.services.uploads import uploads_remove_idle
from tests.api.conftest import key_client
from tests.conftest import make_png

pytestmark = pytest.mark.django_db


def upload_file(content: bytes, name: str = "picture.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def test_upload_answers_the_facts_read_from_the_bytes(user):
    response = key_client(user).post(
        "/api/v1/uploads", {"file": upload_file(make_png(80, 60))}, format="multipart"
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "width", "height", "format", "bytes", "created_at", "last_used_at"}
    assert body["last_used_at"] is None
    assert (body["width"], body["height"], body["format"]) == (80, 60, "png")
    upload = Upload.objects.get(id=body["id"])
    assert upload.owner == user
    assert upload.bytes == body["bytes"]
    assert default_storage.exists(upload.file.name)
    assert upload.file.name.startswith("uploads/")


def test_the_same_bytes_uploaded_twice_are_one_upload(user):
    api = key_client(user)
    content = make_png()
    first = api.post("/api/v1/uploads", {"file": upload_file(content)}, format="multipart")
    second = api.post("/api/v1/uploads", {"file": upload_file(content)}, format="multipart")
    assert first.json()["id"] == second.json()["id"]
    assert Upload.objects.count() == 1


def test_the_same_bytes_of_two_users_are_two_uploads(user, other_user):
    content = make_png()
    mine = key_client(user).post("/api/v1/uploads", {"file": upload_file(content)})
    theirs = key_client(other_user).post("/api/v1/uploads", {"file": upload_file(content)})
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"GIF89a but not really", "not a readable image"),
        (make_png(10, 10), "at least 15 px"),
        (make_png(20, 400), "aspect ratio"),
    ],
)
def test_unusable_image_is_400_invalid_reference_naming_the_file_field(user, content, says):
    response = key_client(user).post("/api/v1/uploads", {"file": upload_file(content)})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_reference"
    assert says in error["details"]["file"][0]
    assert not Upload.objects.exists()


def test_decompression_bomb_is_refused(user, settings):
    settings.IMAGE_MAX_PIXELS = 1_000_000
    buffer = io.BytesIO()
    # Tiny on disk, 4000 x 4000 pixels once decoded.
    Image.new("1", (4000, 4000)).save(buffer, format="PNG", optimize=True)
    response = key_client(user).post("/api/v1/uploads", {"file": upload_file(buffer.getvalue())})
    assert response.status_code == 400
    assert "pixels" in response.json()["error"]["details"]["file"][0]


def test_file_over_the_reference_cap_is_refused(user, settings):
    content = make_png(200, 200)
    settings.REFERENCE_MAX_BYTES = len(content) - 1
    response = key_client(user).post("/api/v1/uploads", {"file": upload_file(content)})
    assert response.status_code == 400
    assert "at most" in response.json()["error"]["details"]["file"][0]


def test_body_far_over_the_cap_is_413_before_it_is_read(user, settings):
    settings.REFERENCE_MAX_BYTES = 1024
    response = key_client(user).post(
        "/api/v1/uploads", {"file": upload_file(b"\x89PNG" + b"0" * 200_000)}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_missing_file_is_named(user):
    response = key_client(user).post("/api/v1/uploads", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["error"]["details"]


def test_json_body_is_415(user):
    response = key_client(user).post("/api/v1/uploads", {"file": "abc"}, format="json")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_upload_needs_credentials(client):
    response = client.post("/api/v1/uploads", {"file": upload_file(make_png())})
    assert response.status_code == 401


# --- quota, list, delete, cleanup ----------------------------------------------------------


def test_unused_uploads_are_limited_by_count_then_freed_by_use(user, settings, local_account):
    settings.UPLOAD_QUOTA_COUNT = 2
    api = key_client(user)
    ids = [
        api.post(
            "/api/v1/uploads", {"file": upload_file(make_png(color=(n, 1, 1)))}, format="multipart"
        ).json()["id"]
        for n in range(2)
    ]
    third = api.post(
        "/api/v1/uploads", {"file": upload_file(make_png(color=(9, 9, 9)))}, format="multipart"
    )
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "upload_quota_exceeded"
    assert "2 uploads not yet used" in third.json()["error"]["message"]
    assert third.json()["error"]["details"]["max_uploads"] == 2
    assert Upload.objects.count() == 2

    used = api.post(
        "/api/v1/generations",
        {
            "model": "seedream-4.0",
            "prompt": "from my upload",
            "size": "2K",
            "references": [{"upload_id": ids[0]}],
        },
        format="json",
    )
    assert used.status_code == 201, used.content
    assert Upload.objects.get(id=ids[0]).last_used_at is not None
    again = api.post(
        "/api/v1/uploads", {"file": upload_file(make_png(color=(9, 9, 9)))}, format="multipart"
    )
    assert again.status_code == 201


def test_unused_upload_bytes_are_limited(user, settings):
    content = make_png(color=(5, 5, 5))
    settings.UPLOAD_QUOTA_BYTES = len(content) + 10
    api = key_client(user)
    assert (
        api.post("/api/v1/uploads", {"file": upload_file(content)}, format="multipart").status_code
        == 201
    )
    second = api.post(
        "/api/v1/uploads", {"file": upload_file(make_png(color=(6, 6, 6)))}, format="multipart"
    )
    assert second.status_code == 413
    assert "MB allowed" in second.json()["error"]["message"]


def test_uploads_are_listed_and_deleted_by_their_owner_only(user, other_user):
    api = key_client(user)
    upload_id = api.post(
        "/api/v1/uploads", {"file": upload_file(make_png())}, format="multipart"
    ).json()["id"]
    listed = api.get("/api/v1/uploads").json()
    assert [item["id"] for item in listed["results"]] == [upload_id]
    assert key_client(other_user).get("/api/v1/uploads").json()["results"] == []
    assert key_client(other_user).delete(f"/api/v1/uploads/{upload_id}").status_code == 404
    name = Upload.objects.get(id=upload_id).file.name
    assert api.delete(f"/api/v1/uploads/{upload_id}").status_code == 204
    assert not Upload.objects.exists()
    assert not default_storage.exists(name)
    assert api.delete(f"/api/v1/uploads/{upload_id}").status_code == 404


def test_idle_uploads_are_removed_files_and_rows(user, settings):
    api = key_client(user)
    ids = [
        api.post(
            "/api/v1/uploads", {"file": upload_file(make_png(color=(n, 2, 2)))}, format="multipart"
        ).json()["id"]
        for n in range(3)
    ]
    long_ago = timezone.now() - timedelta(hours=settings.UPLOAD_TTL_H + 1)
    Upload.objects.filter(id=ids[0]).update(created_at=long_ago)  # never used, idle
    Upload.objects.filter(id=ids[1]).update(created_at=long_ago, last_used_at=timezone.now())
    idle_file = Upload.objects.get(id=ids[0]).file.name
    assert uploads_remove_idle() == 1
    assert sorted(Upload.objects.values_list("id", flat=True)) == sorted(
        [Upload.objects.get(id=ids[1]).id, Upload.objects.get(id=ids[2]).id]
    )
    assert not default_storage.exists(idle_file)
