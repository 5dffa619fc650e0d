"""The compose form's help per model, its prompt counter and rejected-file message; a partial
result's badge and reasons on its card; "Use as reference" keeping the model and the prompt."""

import json
import re

import pytest
from django.urls import reverse

from generations.catalog import list_models
from generations.models import Generation
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db

SIZE_HELP = {
    "seedream-5.0-lite": "A tier, 2K, 3K or 4K, with an aspect ratio, or an exact WIDTHxHEIGHT "
    "(3,686,400 to 10,404,496 pixels, such as 2048x2048). Empty means 2K.",
    "seedream-4.5": "A tier, 2K or 4K, with an aspect ratio, or an exact WIDTHxHEIGHT "
    "(3,686,400 to 16,777,216 pixels, such as 2048x2048). Empty means 2K.",
    "seedream-4.0": "A tier, 1K, 2K or 4K, with an aspect ratio, or an exact WIDTHxHEIGHT "
    "(921,600 to 16,777,216 pixels, such as 2048x2048). Empty means 2K.",
    "seedream-3.0-t2i": "An exact WIDTHxHEIGHT only (262,144 to 4,194,304 pixels, such as "
    "1024x1024). Empty means 1024x1024.",
    "seededit-3.0-i2i": "Adaptive only: the result keeps the reference image's size and shape.",
    "dreamina-3.1": "A tier, 1K or 2K, with an aspect ratio, or an exact WIDTHxHEIGHT "
    "(each side 512 to 3,024 px). Empty means 2K.",
}


def page(client, query=""):
    return client.get(f"{reverse('workspace')}{query}").content.decode()


def catalog_of(body):
    found = re.search(r'<script id="catalog-data" type="application/json">(.*?)</script>', body)
    assert found is not None
    return {model["id"]: model for model in json.loads(found.group(1))}


def test_every_model_has_its_own_size_help_in_the_form_data(client, user):
    client.force_login(user)
    catalog = catalog_of(page(client))
    assert {model.id for model in list_models()} == set(SIZE_HELP)
    for model_id, text in SIZE_HELP.items():
        assert catalog[model_id]["size_help"] == text, model_id


@pytest.mark.parametrize("model_id", ["seedream-3.0-t2i", "dreamina-3.1", "seedream-4.5"])
def test_the_page_shows_the_chosen_models_size_help(client, user, model_id):
    client.force_login(user)
    source = make_generation(user, model=model_id, images=1)
    body = page(client, f"?reuse={source.id}")
    help_text = SIZE_HELP[model_id].replace("'", "&#x27;")
    assert f'<small class="help size-help" id="size-help">{help_text}</small>' in body
    assert 'aria-describedby="size-help"' in body


def test_the_first_model_s_size_help_shows_without_a_choice(client, user):
    client.force_login(user)
    first = list_models()[0].id
    assert SIZE_HELP[first] in page(client)


def test_the_prompt_has_a_character_counter(client, user):
    client.force_login(user)
    body = page(client)
    assert 'maxlength="4000"' in body
    assert (
        '<small class="counter" id="id_prompt_counter" data-counter-for="id_prompt" '
        'data-max="4000">0 / 4,000</small>'
    ) in body


def test_the_counter_counts_a_reused_prompt(client, user):
    client.force_login(user)
    source = make_generation(user, prompt="x" * 123, images=1)
    assert ">123 / 4,000</small>" in page(client, f"?reuse={source.id}")


def test_rejected_files_have_a_visible_place_beside_the_drop_zone(client, user):
    client.force_login(user)
    body = page(client)
    dropzone_end = body.index('id="references-help"')
    rejected = body.index('<div class="ref-rejected" id="reference-rejected" hidden>')
    assert dropzone_end < rejected < body.index('id="reference-list"')
    assert '<ul id="reference-rejected-list"></ul>' in body
    # The live region for screen readers stays.
    assert '<p class="visually-hidden" id="reference-status" aria-live="polite"></p>' in body


def partial_generation(owner):
    generation = make_generation(owner, images=3, prompt="three harbours")
    generation.outputs.filter(index=2).delete()
    generation.status = Generation.Status.PARTIAL
    generation.credits_charged = 60
    generation.error_code = "no_images"
    generation.error_message = "The provider returned no images. Nothing was charged."
    generation.image_errors = [
        {"index": 2, "code": "image_unreadable", "message": "The image file was cut short."}
    ]
    generation.save()
    return generation


def test_a_partial_card_has_its_own_badge_and_a_reason_per_missing_image(client, user):
    partial = partial_generation(user)
    client.force_login(user)
    body = client.get(reverse("generation-card", args=[partial.id])).content.decode()
    assert '<span class="badge" data-status="partial">Partial</span>' in body
    assert "Succeeded" not in body
    assert "2 of 3 images arrived. You paid only for the ones delivered." in body
    assert "<li>Image 3: The image file was cut short.</li>" in body


def test_a_missing_image_without_its_own_reason_gets_a_plain_one(client, user):
    partial = partial_generation(user)
    partial.image_errors = []
    partial.save()
    client.force_login(user)
    body = client.get(reverse("generation-card", args=[partial.id])).content.decode()
    assert "<li>Image 3: the provider returned no image for it.</li>" in body
    assert "Nothing was charged" not in body


def test_the_workspace_cards_show_the_partial_badge(client, user):
    partial_generation(user)
    client.force_login(user)
    assert '<span class="badge" data-status="partial">Partial</span>' in page(client)


def test_use_as_reference_keeps_the_model_and_the_prompt(client, user):
    source = make_generation(user, model="seedream-4.5", prompt="a tin robot", images=1)
    output = source.outputs.get()
    client.force_login(user)
    response = client.get(f"{reverse('workspace')}?reference_output={output.pk}")
    form = response.context["form"]
    assert form["model"].value() == "seedream-4.5"
    assert form["prompt"].value() == "a tin robot"
    body = response.content.decode()
    assert '<option value="seedream-4.5" selected>Seedream 4.5</option>' in body
    assert "a tin robot</textarea>" in body
    assert f'value="o:{output.pk}" checked' in body


def test_use_as_reference_from_a_text_only_model_keeps_the_prompt_only(client, user):
    source = make_generation(user, model="dreamina-3.1", prompt="a paper crane", images=1)
    output = source.outputs.get()
    client.force_login(user)
    form = client.get(f"{reverse('workspace')}?reference_output={output.pk}").context["form"]
    # Dreamina 3.1 takes no reference: the form keeps the model list's default instead.
    assert form["model"].value() != "dreamina-3.1"
    assert form["prompt"].value() == "a paper crane"


def test_someone_elses_private_prompt_is_not_carried(client, user, other_user):
    private = make_generation(other_user, prompt="a secret plan", images=1).outputs.get()
    client.force_login(user)
    body = page(client, f"?reference_output={private.pk}")
    assert "a secret plan" not in body


def test_a_catalog_error_names_the_model_as_the_form_does(client, user, local_account):
    client.force_login(user)
    response = client.post(
        reverse("workspace"),
        {
            "model": "seededit-3.0-i2i",
            "prompt": "make it blue",
            "num_images": 1,
            "visibility": "private",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["references"] == [
        "SeedEdit 3.0 needs exactly 1 reference image; got 0."
    ]
