"""A generation's page and its actions: facts, downloads, star, visibility, delete."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.selectors import credit_balance_get
from generations.catalog import SpecError
from generations.models import Generation, ProviderAttempt, Star
from generations.services.visibility import generation_visibility_set
from tests.conftest import make_png
from tests.factories import ProviderAttemptFactory
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db


def test_the_page_shows_every_fact_and_action(client, user):
    generation = make_generation(user, images=2)
    client.force_login(user)
    body = client.get(reverse("generation-detail", args=[generation.id])).content.decode()
    for output in generation.outputs.all():
        # The page shows the sized preview; the original is only a link away.
        assert f'src="{reverse("output-thumbnail", args=[output.pk])}"' in body
        assert f'src="{reverse("output-file", args=[output.pk])}"' not in body
        assert f'href="{reverse("output-file", args=[output.pk])}"' in body
        assert f"{reverse('output-file', args=[output.pk])}?download=1" in body
        assert f"?reference_output={output.pk}" in body
    for text in [
        "Seedream 4.0",
        "1024\N{MULTIPLICATION SIGN}1024",
        "60 credits charged",
        "30 per image",
        "random",
        "in the workspace",
        "Reuse settings",
        "Download all (.zip)",
        "Open full size",
        "Share with the team",
        "Delete this generation",
        "Your credits are not affected",
        'id="lightbox"',
    ]:
        assert text in body, text
    assert reverse("generation-zip", args=[generation.id]) in body


def test_a_teammate_sees_a_shared_generation_without_owner_actions(client, user, other_user):
    generation = make_generation(other_user, visibility="team")
    client.force_login(user)
    body = client.get(reverse("generation-detail", args=[generation.id])).content.decode()
    assert "Reuse settings" in body
    assert "Share with the team" not in body
    assert "Make private" not in body
    assert "Delete this generation" not in body


def test_private_generations_and_their_files_are_invisible_to_others(client, user, other_user):
    generation = make_generation(other_user)
    output = generation.outputs.first()
    client.force_login(user)
    for url in [
        reverse("generation-detail", args=[generation.id]),
        reverse("generation-zip", args=[generation.id]),
        reverse("output-file", args=[output.pk]) + "?download=1",
        reverse("generation-delete", args=[generation.id]),
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("generation-star", args=[generation.id])).status_code == 404


def test_one_image_downloads_with_a_readable_name(client, user):
    generation = make_generation(user, prompt="A red fox, in snow!", images=1)
    output = generation.outputs.get()
    client.force_login(user)
    response = client.get(reverse("output-file", args=[output.pk]), {"download": "1"})
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"seedream-{str(generation.id)[:8]}-01-a-red-fox-in-snow.jpg" in disposition
    shown = client.get(reverse("output-file", args=[output.pk]))
    assert not shown.get("Content-Disposition", "").startswith("attachment")


def test_all_images_download_as_one_zip(client, user):
    generation = make_generation(user, images=3)
    client.force_login(user)
    response = client.get(reverse("generation-zip", args=[generation.id]))
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    names = archive.namelist()
    assert len(names) == 3
    assert names[0].endswith("-01-a-red-fox-in-snow.jpg")
    for output, name in zip(generation.outputs.order_by("index"), names, strict=True):
        with output.file.open("rb") as stored:
            assert archive.read(name) == stored.read()


def test_a_generation_without_images_has_no_zip(client, user):
    failed = make_generation(user, status=Generation.Status.FAILED)
    client.force_login(user)
    assert client.get(reverse("generation-zip", args=[failed.id])).status_code == 404


def test_star_and_unstar(client, user, other_user):
    shared = make_generation(other_user, visibility="team")
    client.force_login(user)
    url = reverse("generation-star", args=[shared.id])
    response = client.post(url, {"starred": "1"}, HTTP_HX_REQUEST="true")
    assert 'aria-pressed="true"' in response.content.decode()
    client.post(url, {"starred": "1"})  # a repeat is the same star
    assert Star.objects.filter(user=user, generation=shared).count() == 1
    response = client.post(url, {"starred": "0"})
    assert response.status_code == 302
    assert not Star.objects.exists()


def test_the_owner_shares_and_unshares(client, user, other_user):
    generation = make_generation(user)
    client.force_login(user)
    client.post(reverse("generation-visibility", args=[generation.id]), {"visibility": "team"})
    generation.refresh_from_db()
    assert generation.visibility == "team"
    client.force_login(other_user)
    assert client.get(reverse("generation-detail", args=[generation.id])).status_code == 200
    client.force_login(user)
    client.post(reverse("generation-visibility", args=[generation.id]), {"visibility": "private"})
    client.force_login(other_user)
    assert client.get(reverse("generation-detail", args=[generation.id])).status_code == 404


def test_a_teammate_cannot_change_visibility(client, user, other_user):
    generation = make_generation(other_user, visibility="team")
    client.force_login(user)
    url = reverse("generation-visibility", args=[generation.id])
    assert client.post(url, {"visibility": "private"}).status_code == 403
    generation.refresh_from_db()
    assert generation.visibility == "team"


def test_an_unknown_visibility_is_refused(user):
    generation = make_generation(user)
    with pytest.raises(SpecError):
        generation_visibility_set(generation=generation, user=user, visibility="public")


def test_delete_asks_first_then_hides_everywhere_and_leaves_credits(client, user):
    generation = make_generation(user)
    output = generation.outputs.first()
    client.force_login(user)
    before = credit_balance_get(user=user)
    confirm = client.get(reverse("generation-delete", args=[generation.id]))
    assert "Your credits are not affected" in confirm.content.decode()
    response = client.post(reverse("generation-delete", args=[generation.id]))
    assert response.url == reverse("gallery")
    generation.refresh_from_db()
    assert generation.deleted_at is not None
    assert credit_balance_get(user=user) == before
    assert client.get(reverse("generation-detail", args=[generation.id])).status_code == 404
    assert client.get(reverse("output-file", args=[output.pk])).status_code == 404
    assert generation.prompt not in client.get(reverse("gallery")).content.decode()


def test_a_running_generation_cannot_be_deleted(client, user):
    running = make_generation(user, status=Generation.Status.RUNNING)
    client.force_login(user)
    response = client.post(reverse("generation-delete", args=[running.id]), follow=True)
    assert "cancel it first" in response.content.decode()
    running.refresh_from_db()
    assert running.deleted_at is None


def test_a_teammate_cannot_delete(client, user, other_user):
    shared = make_generation(other_user, visibility="team")
    client.force_login(user)
    assert client.post(reverse("generation-delete", args=[shared.id])).status_code == 403
    shared.refresh_from_db()
    assert shared.deleted_at is None


def test_reference_images_follow_their_generation(
    client, user, other_user, local_account, django_capture_on_commit_callbacks
):
    client.force_login(user)
    upload = SimpleUploadedFile("ref.png", make_png(), content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("workspace"),
            {
                "model": "seedream-4.0",
                "prompt": "p",
                "size": "1K",
                "num_images": 1,
                "visibility": "private",
                "references": [upload],
            },
        )
    reference = Generation.objects.get().references.get()
    url = reverse("reference-file", args=[reference.pk])
    assert client.get(url)["Content-Type"] == "image/png"
    client.force_login(other_user)
    assert client.get(url).status_code == 404


def test_a_teammate_sees_the_provider_and_a_plain_reason_staff_see_the_raw_error(
    client, user, admin_user, local_account
):
    generation = make_generation(user, status=Generation.Status.FAILED)
    ProviderAttemptFactory(
        generation=generation,
        account=local_account,
        provider_kind="replicate",
        outcome="failed",
        error_code="provider_unavailable",
        error_message="ConnectError: [Errno -2] Name or service not known",
        http_status=503,
    )
    page = reverse("generation-detail", args=[generation.id])
    client.force_login(user)
    body = client.get(page).content.decode()
    assert "Replicate" in body
    assert "temporarily unavailable" in body
    assert "Errno" not in body
    assert local_account.label not in body
    client.force_login(admin_user)
    staff = client.get(page).content.decode()
    assert local_account.label in staff
    assert "HTTP 503: ConnectError: [Errno -2]" in staff


def test_the_page_says_whether_the_prompt_was_enhanced(client, user):
    # Replicate's `enhance_prompt` (seed 001) is sent explicitly and recorded with the call.
    generation = make_generation(user, images=1, served_by="replicate")
    ProviderAttempt.objects.filter(generation=generation).update(
        usage={"generated_images": 1, "enhance_prompt": False}
    )
    client.force_login(user)
    body = client.get(reverse("generation-detail", args=[generation.id])).content.decode()
    assert "Prompt enhancement" in body
    assert "Off: the prompt went out as written" in body
    other = make_generation(user, images=1, served_by="ark")
    assert (
        "Prompt enhancement"
        not in client.get(reverse("generation-detail", args=[other.id])).content.decode()
    )
