"""Under the ASGI server the zip download and the CSV export stream as they are built.

Each request goes through Django's own ASGI handler (what uvicorn calls), with an ASGI
``send`` that notes, when the first piece of body leaves, how much of the download had been
built by then: the bytes read from storage for the zip, the cells written for the CSV. Django's
fallback for a sync iterator (``list()`` of it, then send) would have built all of it first.
"""

import asyncio
import csv
import io
import os
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.handlers.asgi import ASGIHandler
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, User
from generations.models import Generation
from generations.pages import files
from studio_core import csv_export as export
from tests.conftest import funded_user
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db(transaction=True)

IMAGES = 6
IMAGE_BYTES = 1024 * 1024
EVENTS = 5_000


@dataclass
class Download:
    status: int = 0
    body: bytearray = field(default_factory=bytearray)
    body_messages: int = 0
    built_at_first_body: int | None = None
    warnings: list[str] = field(default_factory=list)


def asgi_get(
    path: str, *, user: User, built: Callable[[], int], leave_after_first_body: bool = False
) -> Download:
    """GET ``path`` as ``user`` through Django's ASGI handler; ``built()`` is read when the
    first piece of body is sent. With ``leave_after_first_body`` the client then goes away."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"localhost"),
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }
    download = Download()

    async def scenario() -> None:
        gone = asyncio.Event()
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                download.status = message["status"]
            elif message.get("body"):
                if download.built_at_first_body is None:
                    download.built_at_first_body = built()
                    if leave_after_first_body:
                        gone.set()
                download.body += message["body"]
                download.body_messages += 1
            # Hand the loop over, as a real server's send does while its buffer drains.
            await asyncio.sleep(0)

        await ASGIHandler()(scope, receive, send)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(scenario())
    download.warnings = [str(warning.message) for warning in caught]
    return download


class CountingStorage:
    """``default_storage`` for the zip view, noting the bytes read and the files left open."""

    def __init__(self) -> None:
        self.bytes_read = 0
        self.open_files = 0

    def exists(self, name: str) -> bool:
        return default_storage.exists(name)

    def open(self, name: str, mode: str = "rb") -> Any:
        storage = self
        source = default_storage.open(name, mode)
        storage.open_files += 1

        class Counted:
            def read(self, size: int = -1) -> bytes:
                data = source.read(size)
                storage.bytes_read += len(data)
                return data

            def __enter__(self) -> "Counted":
                return self

            def __exit__(self, *exc_info: object) -> None:
                source.close()
                storage.open_files -= 1

        return Counted()


def generation_of_large_images(owner: User) -> Generation:
    """IMAGES outputs of IMAGE_BYTES each, incompressible, so the zip is as large as they are."""
    generation = make_generation(owner, images=IMAGES)
    for output in generation.outputs.all():
        output.file.name = default_storage.save(
            f"outputs/large-{output.pk}.jpg", ContentFile(os.urandom(IMAGE_BYTES))
        )
        output.save(update_fields=["file"])
    return generation


def test_zip_streams_under_asgi_while_it_is_built(user, monkeypatch):
    generation = generation_of_large_images(user)
    storage = CountingStorage()
    monkeypatch.setattr(files, "default_storage", storage)

    download = asgi_get(
        reverse("generation-zip", args=[generation.id]),
        user=user,
        built=lambda: storage.bytes_read,
    )

    assert download.status == 200
    # The first piece left after about one read of one image, not after all of them.
    assert download.built_at_first_body is not None
    assert download.built_at_first_body <= 2 * files.ZIP_CHUNK_BYTES
    assert storage.bytes_read == IMAGES * IMAGE_BYTES
    assert download.body_messages > IMAGES * IMAGE_BYTES // (256 * 1024)
    assert not [text for text in download.warnings if "synchronous iterators" in text]
    archive = zipfile.ZipFile(io.BytesIO(download.body))
    assert archive.testzip() is None
    outputs = generation.outputs.order_by("index")
    assert archive.namelist() == [files.download_name(output) for output in outputs]
    for output, name in zip(outputs, archive.namelist(), strict=True):
        with default_storage.open(output.file.name, "rb") as stored:
            assert archive.read(name) == stored.read()
    assert storage.open_files == 0


def test_zip_stops_and_closes_its_files_when_the_client_goes_away(user, monkeypatch):
    generation = generation_of_large_images(user)
    storage = CountingStorage()
    monkeypatch.setattr(files, "default_storage", storage)

    download = asgi_get(
        reverse("generation-zip", args=[generation.id]),
        user=user,
        built=lambda: storage.bytes_read,
        leave_after_first_body=True,
    )

    assert download.status == 200
    # The generator was closed (its open image with it) and read no further than a few
    # chunks past the point the client left.
    assert storage.open_files == 0
    assert storage.bytes_read <= 4 * files.ZIP_CHUNK_BYTES
    assert len(download.body) < IMAGES * IMAGE_BYTES // 2


def test_csv_export_streams_under_asgi_while_rows_are_read(monkeypatch):
    staff = funded_user(0, is_staff=True, is_superuser=True)
    AuditEvent.objects.all().delete()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            action="credits.granted",
            target_type="user",
            target_id=str(number),
            target_repr=f"teammate {number}",
            before={"available": number},
            after={"available": number + 100},
            ip_address="10.0.0.1",
        )
        for number in range(EVENTS)
    )
    cells = 0
    real_csv_cell = export.csv_cell

    def counting_csv_cell(value: Any) -> Any:
        nonlocal cells
        cells += 1
        return real_csv_cell(value)

    monkeypatch.setattr(export, "csv_cell", counting_csv_cell)

    download = asgi_get(
        reverse("admin:accounts_auditevent_export"), user=staff, built=lambda: cells
    )

    assert download.status == 200
    columns = 9
    # The first piece left after a batch of rows (64 KiB, a few hundred), not all of them.
    assert download.built_at_first_body is not None
    assert download.built_at_first_body < EVENTS * columns // 5
    assert download.body_messages > 5
    assert not [text for text in download.warnings if "synchronous iterators" in text]
    rows = list(csv.reader(io.StringIO(download.body.decode())))
    assert rows[0][:3] == ["created_at", "actor", "action"]
    assert len(rows) == 1 + EVENTS
    assert sorted(int(row[4]) for row in rows[1:]) == list(range(EVENTS))
