import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from generations.models import Generation
from tests.conftest import make_png
from tests.factories import GenerationFactory

pytestmark = pytest.mark.django_db


def compose_data(**overrides):
    data = {
        "model": "seedream-4.0",
        "prompt": "a red fox in snow",
        "size": "1K",
        "aspect_ratio": "",
        "num_images": 2,
        "visibility": "private",
    }
    data.update(overrides)
    return data


def test_workspace_requires_login(client):
    response = client.get(reverse("workspace"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_workspace_shows_the_catalog_in_the_compose_form(client, user):
    client.force_login(user)
    response = client.get(reverse("workspace"))
    assert response.status_code == 200
    body = response.content.decode()
    for model_id in ["seedream-5.0-lite", "seedream-4.5", "seedream-4.0", "dreamina-3.1"]:
        assert f'value="{model_id}"' in body
    assert "htmx-2.0.11.min.js" in body
    # Every script, style and image comes from our own static files: no asset from another
    # host (a CDN). Read from the attributes, not the text: a CSRF token may spell "cdn".
    assert not re.search(r'(?:src|href)="(?:https?:)?//', body)


def test_compose_form_makes_images_and_keeps_the_settings(
    client, user, local_account, django_capture_on_commit_callbacks
):
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("workspace"), compose_data())
    generation = Generation.objects.get()
    assert response.status_code == 302
    assert response.url == f"{reverse('workspace')}?reuse={generation.id}"
    assert generation.status == Generation.Status.SUCCEEDED
    assert generation.outputs.count() == 2

    page = client.get(response.url).content.decode()
    assert "a red fox in snow</textarea>" in page  # prompt kept for the next variation
    for output in generation.outputs.all():
        assert reverse("output-thumbnail", args=[output.id]) in page


def test_compose_form_with_reference_upload(
    client, user, local_account, django_capture_on_commit_callbacks
):
    client.force_login(user)
    upload = SimpleUploadedFile("ref.png", make_png(), content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("workspace"), compose_data(references=[upload], num_images=1))
    generation = Generation.objects.get()
    assert generation.references.count() == 1
    assert generation.status == Generation.Status.SUCCEEDED


def test_compose_form_shows_catalog_errors_next_to_the_field(client, user, local_account):
    client.force_login(user)
    response = client.post(
        reverse("workspace"), compose_data(model="seedream-4.5", size="1024x1024")
    )
    assert response.status_code == 400
    assert "3,686,400" in response.content.decode()
    assert "3,686,400" in str(response.context["form"].errors["size"])
    assert not Generation.objects.exists()


def test_card_polls_until_terminal(client, user, local_account):
    client.force_login(user)
    generation = GenerationFactory(owner=user, params={"width": 1, "height": 1})
    card_url = reverse("generation-card", args=[generation.id])
    assert 'hx-trigger="every 2s"' in client.get(card_url).content.decode()

    Generation.objects.filter(id=generation.id).update(status=Generation.Status.FAILED)
    assert "hx-trigger" not in client.get(card_url).content.decode()


def test_images_are_private_to_their_owner_unless_shared(
    client, user, other_user, local_account, django_capture_on_commit_callbacks
):
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("workspace"), compose_data(num_images=1))
    generation = Generation.objects.get()
    output = generation.outputs.get()
    image_url = reverse("output-file", args=[output.id])

    owner_response = client.get(image_url)
    assert owner_response.status_code == 200
    assert owner_response["Content-Type"] == "image/jpeg"

    client.force_login(other_user)
    assert client.get(image_url).status_code == 404
    assert client.get(reverse("generation-detail", args=[generation.id])).status_code == 404

    Generation.objects.filter(id=generation.id).update(visibility=Generation.Visibility.TEAM)
    assert client.get(image_url).status_code == 200
    assert client.get(reverse("output-thumbnail", args=[output.id])).status_code == 200


def test_reuse_of_someone_elses_private_generation_prefills_nothing(client, user, other_user):
    generation = GenerationFactory(owner=other_user, model="seedream-4.5", prompt="secret prompt")
    client.force_login(user)
    page = client.get(f"{reverse('workspace')}?reuse={generation.id}").content.decode()
    assert "secret prompt" not in page


def test_login_page_logs_in(client, user):
    response = client.post(
        reverse("login"), {"login": user.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert response.url == reverse("workspace")
