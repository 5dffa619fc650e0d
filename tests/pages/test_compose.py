"""The compose form at ``/``: carried references, the price with the balance, field errors,
and one generation per submitted form."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from generations.models import Generation
from tests.conftest import funded_user, make_png
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db


def compose_data(**overrides):
    data = {
        "model": "seedream-4.0",
        "prompt": "a lighthouse at dusk",
        "size": "1K",
        "aspect_ratio": "",
        "num_images": 1,
        "visibility": "private",
    }
    data.update(overrides)
    return data


def submit(client, django_capture_on_commit_callbacks, **fields):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("workspace"), compose_data(**fields))


def test_the_form_is_labelled_and_carries_an_idempotency_key(client, user):
    client.force_login(user)
    body = client.get(reverse("workspace")).content.decode()
    for control in [
        "id_model",
        "id_prompt",
        "id_size",
        "id_aspect_ratio",
        "id_num_images",
        "id_seed",
        "id_guidance_scale",
        "id_references",
        "id_visibility",
    ]:
        assert f'for="{control}"' in body, control
    assert 'name="idempotency_key"' in body
    assert 'id="dropzone"' in body
    assert 'accept="image/*"' in body


def test_the_same_form_sent_twice_makes_one_generation(
    client, user, local_account, django_capture_on_commit_callbacks
):
    client.force_login(user)
    first = submit(client, django_capture_on_commit_callbacks, idempotency_key="form-1")
    second = submit(client, django_capture_on_commit_callbacks, idempotency_key="form-1")
    assert first.url == second.url
    assert Generation.objects.count() == 1


def test_reuse_carries_the_references_and_the_next_submit_sends_them(
    client, user, local_account, django_capture_on_commit_callbacks
):
    client.force_login(user)
    reference = make_png(80, 60, (10, 200, 30))
    upload = SimpleUploadedFile("ref.png", reference, content_type="image/png")
    response = submit(client, django_capture_on_commit_callbacks, references=[upload])
    first = Generation.objects.get()
    kept = first.references.get()

    page = client.get(response.url).content.decode()
    token = f"r:{kept.pk}"
    assert f'value="{token}" checked' in page
    assert reverse("reference-file", args=[kept.pk]) in page

    submit(client, django_capture_on_commit_callbacks, carried_references=[token])
    second = Generation.objects.exclude(pk=first.pk).get()
    assert second.references.get().sha256 == hashlib.sha256(reference).hexdigest()


def test_an_output_can_be_used_as_a_reference(
    client, user, local_account, django_capture_on_commit_callbacks
):
    source = make_generation(user, images=1)
    output = source.outputs.get()
    client.force_login(user)
    page = client.get(f"{reverse('workspace')}?reference_output={output.pk}").content.decode()
    assert f'value="o:{output.pk}" checked' in page
    assert reverse("output-thumbnail", args=[output.pk]) in page

    submit(client, django_capture_on_commit_callbacks, carried_references=[f"o:{output.pk}"])
    made = Generation.objects.exclude(pk=source.pk).get()
    with output.file.open("rb") as stored:
        assert made.references.get().sha256 == hashlib.sha256(stored.read()).hexdigest()


def test_someone_elses_private_image_is_never_carried(
    client, user, other_user, local_account, django_capture_on_commit_callbacks
):
    private = make_generation(other_user, images=1).outputs.get()
    client.force_login(user)
    page = client.get(f"{reverse('workspace')}?reference_output={private.pk}").content.decode()
    assert f"o:{private.pk}" not in page

    submit(client, django_capture_on_commit_callbacks, carried_references=[f"o:{private.pk}"])
    assert not Generation.objects.filter(owner=user).exists()  # an unknown choice is an error


def test_a_shared_image_of_a_teammate_can_be_used(
    client, user, other_user, local_account, django_capture_on_commit_callbacks
):
    shared = make_generation(other_user, images=1, visibility="team").outputs.get()
    client.force_login(user)
    submit(client, django_capture_on_commit_callbacks, carried_references=[f"o:{shared.pk}"])
    assert Generation.objects.get(owner=user).references.count() == 1


def test_too_many_references_is_an_error_next_to_the_references(client, user, local_account):
    client.force_login(user)
    upload = SimpleUploadedFile("ref.png", make_png(), content_type="image/png")
    response = client.post(
        reverse("workspace"),
        compose_data(model="seedream-3.0-t2i", size="1024x1024", references=[upload]),
    )
    assert response.status_code == 400
    assert response.context["form"].errors["references"]
    assert not Generation.objects.exists()


def test_running_short_is_a_form_error_and_nothing_is_made(client, local_account):
    poor = funded_user(10)
    client.force_login(poor)
    response = client.post(reverse("workspace"), compose_data())
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert not Generation.objects.exists()


def test_the_price_shows_the_balance_it_comes_from(client, user, local_account):
    client.force_login(user)
    body = client.get(reverse("compose-quote"), compose_data(num_images=2)).content.decode()
    assert "60 credits" in body
    assert "Balance 100,000" in body
    assert "99,940 after this" in body


def test_the_price_says_when_the_balance_is_short(client, local_account):
    poor = funded_user(40)
    client.force_login(poor)
    body = client.get(reverse("compose-quote"), compose_data(num_images=2)).content.decode()
    assert "not enough: 20 more credits needed" in body


def test_the_price_counts_uploads_and_kept_references(client, user, local_account):
    client.force_login(user)
    edit = compose_data(model="seededit-3.0-i2i", size="adaptive")
    without = client.get(reverse("compose-quote"), edit).content.decode()
    assert "credits</strong>" not in without  # SeedEdit needs its one reference
    with_upload = client.get(reverse("compose-quote"), {**edit, "upload_count": "1"})
    assert "credits</strong>" in with_upload.content.decode()
    with_kept = client.get(reverse("compose-quote"), {**edit, "carried_references": "r:999"})
    assert "credits</strong>" in with_kept.content.decode()


def test_a_running_card_shows_progress_and_elapsed_time(client, user):
    running = make_generation(user, status=Generation.Status.RUNNING, images=4)
    client.force_login(user)
    body = client.get(reverse("generation-card", args=[running.id])).content.decode()
    assert '<progress max="4" aria-label' in body  # nothing stored yet: indeterminate
    assert "0 of 4 images" in body
    assert 'class="elapsed"' in body
    assert body.count("thumb placeholder") == 4
    assert "Holding 120 credits" in body


def test_a_failed_card_gives_the_reason_and_says_the_credits_came_back(client, user):
    failed = make_generation(user, status=Generation.Status.FAILED, images=2)
    client.force_login(user)
    body = client.get(reverse("generation-card", args=[failed.id])).content.decode()
    assert "The image provider is busy right now." in body
    assert "The 60 credits held for it were returned to your balance." in body


def test_a_finished_card_refreshes_the_balance_once(client, user):
    done = make_generation(user)
    client.force_login(user)
    polled = client.get(reverse("generation-card", args=[done.id]), HTTP_HX_REQUEST="true")
    assert 'id="nav-balance" hx-swap-oob="true"' in polled.content.decode()
    assert polled["HX-Trigger"] == "balance-changed"
    plain = client.get(reverse("generation-card", args=[done.id]))
    assert "hx-swap-oob" not in plain.content.decode()


def test_the_owner_can_cancel_from_the_card(client, user, local_account):
    client.force_login(user)
    # Without capturing on-commit callbacks the task is never sent: it stays queued.
    client.post(reverse("workspace"), compose_data())
    generation = Generation.objects.get()
    response = client.post(
        reverse("generation-cancel", args=[generation.id]), HTTP_HX_REQUEST="true"
    )
    generation.refresh_from_db()
    assert generation.status == Generation.Status.CANCELED
    assert generation.credits_charged == 0
    assert "hx-trigger" not in response.content.decode()


def test_a_teammate_cannot_cancel(client, user, other_user):
    running = make_generation(other_user, status=Generation.Status.RUNNING, visibility="team")
    client.force_login(user)
    client.post(reverse("generation-cancel", args=[running.id]))
    running.refresh_from_db()
    assert running.status == Generation.Status.RUNNING


def test_images_fill_in_as_each_one_is_stored(client, user):
    running = make_generation(user, status=Generation.Status.RUNNING, images=3)
    client.force_login(user)
    template = make_generation(user, images=1).outputs.get()
    template.pk, template.generation, template.index = None, running, 0
    template.save()  # the first of three stored; the worker is still on the others
    body = client.get(reverse("generation-card", args=[running.id])).content.decode()
    assert '<progress max="3" value="1"' in body
    assert "1 of 3 images" in body
    assert body.count("thumb placeholder") == 2
    assert reverse("output-thumbnail", args=[template.pk]) in body
    assert 'hx-trigger="every 2s"' in body


def test_an_edit_without_aspect_ratio_keeps_the_reference_shape(
    client, user, local_account, django_capture_on_commit_callbacks
):
    # The aspect ratio stays empty for an edit, so the provider's "match the input" option
    # (Replicate `match_input_image`, Scenario `auto`) shapes it, not a default square.
    client.force_login(user)
    upload = SimpleUploadedFile("wide.png", make_png(160, 90, (200, 90, 30)), "image/png")
    submit(client, django_capture_on_commit_callbacks, references=[upload])

    assert Generation.objects.get().params["aspect_ratio"] == ""


def test_the_page_says_an_edit_keeps_the_reference_shape(client, user):
    client.force_login(user)
    body = client.get(reverse("workspace")).content.decode()
    assert "keeps the reference image&#x27;s shape when one is attached" in body
    # The note beside the size controls shows once references are attached (compose.js),
    # at once when the page carries kept references.
    assert '<p class="help" id="aspect-follows-reference" hidden>' in body

    source = make_generation(user, images=1)
    output = source.outputs.get()
    page = client.get(f"{reverse('workspace')}?reference_output={output.pk}").content.decode()
    assert '<p class="help" id="aspect-follows-reference">' in page
