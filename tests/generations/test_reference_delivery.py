"""A stored reference reaches a URL-only provider as our signed link, which it downloads.

The whole path in one process: submit with a reference -> run -> the Siraya adapter sends the
link `provider_request` built on PUBLIC_BASE_URL -> the Siraya emulator downloads it from our
own media view (through a WSGI transport to this Django app) before it generates. Siraya's page
documents `image` as a "Reference image URL" (seed 004); the emulator refuses data URIs.
"""

import httpx
import pytest
from django.core.files.storage import default_storage
from django.test import Client

from generations.catalog import GenerationSpec
from generations.models import Generation
from generations.providers import build_adapter
from generations.services import generation_submit
from generations.services import run as run_service
from generations.services.provider_accounts import ProviderAccountInput, provider_account_create
from tests.conftest import make_png
from tests.emulators.siraya import SirayaEmulator

pytestmark = pytest.mark.django_db


class ThisApp(httpx.BaseTransport):
    """This Django app as an httpx transport, through Django's test client (which, unlike a
    bare WSGI handler, leaves the test's database connection open between requests)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path, host = request.url.raw_path.decode("ascii"), request.url.netloc.decode("ascii")
        response = Client().generic(request.method, path, HTTP_HOST=host)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return httpx.Response(response.status_code, headers=dict(response.items()), content=body)


@pytest.fixture
def siraya(default_prices, settings, monkeypatch) -> SirayaEmulator:
    """A Siraya account on the in-process emulator, which fetches links from this app."""
    settings.PUBLIC_BASE_URL = "http://testserver"
    emulator = SirayaEmulator()
    emulator.reference_transport = ThisApp()
    provider_account_create(
        data=ProviderAccountInput(
            kind="siraya",
            label="Siraya",
            base_url=emulator.base_url,
            api_key=emulator.api_key,
            models=["seedream-4.5"],
        ),
        actor=None,
    )
    monkeypatch.setattr(
        run_service,
        "build_adapter",
        lambda config: build_adapter(config, transport=emulator.transport()),
    )
    return emulator


def test_a_reference_goes_to_siraya_as_a_signed_link_it_downloads(
    user, siraya, django_capture_on_commit_callbacks
):
    reference = make_png(96, 64, (30, 160, 90))
    with django_capture_on_commit_callbacks(execute=True):
        generation = generation_submit(
            user=user,
            spec=GenerationSpec(
                model="seedream-4.5", prompt="a green kite", size="2K", aspect_ratio="1:1"
            ),
            references=[reference],
        )

    generation.refresh_from_db()
    assert generation.status == Generation.Status.SUCCEEDED, generation.error_message
    stored = generation.references.get()
    (call,) = siraya.requests
    link = call.body["image"]
    assert link.startswith(f"http://testserver/media/r/{stored.pk}?exp=")
    ((fetched_url, fetched_bytes),) = siraya.fetched_references
    assert fetched_url == link
    with default_storage.open(stored.file.name, "rb") as stored_file:
        assert fetched_bytes == stored_file.read()


def test_a_forged_link_fails_the_generation_at_siraya(
    user, siraya, django_capture_on_commit_callbacks
):
    real_link = run_service.reference_link

    def forged_link(reference, **kwargs):
        return real_link(reference, **kwargs).replace("sig=", "sig=x")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_service, "reference_link", forged_link)
        with django_capture_on_commit_callbacks(execute=True):
            generation = generation_submit(
                user=user,
                spec=GenerationSpec(
                    model="seedream-4.5", prompt="a green kite", size="2K", aspect_ratio="1:1"
                ),
                references=[make_png(96, 64, (30, 160, 90))],
            )

    generation.refresh_from_db()
    assert generation.status == Generation.Status.FAILED
    assert "HTTP 403" in generation.error_message
    assert siraya.fetched_references == []
