"""The Generation admin: filters, search by prompt and provider ids, a read-only detail page."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generations.models import Generation, OutputImage
from tests.conftest import make_png
from tests.factories import ReferenceImageFactory
from tests.usage.builders import attempt_spec, make_generation

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:generations_generation_changelist")


@pytest.fixture
def three(user, other_user, api_key, ark, fal) -> dict[str, Generation]:
    return {
        "keyed": make_generation(
            owner=user,
            api_key=api_key,
            prompt="a koi pond from above",
            attempts=[attempt_spec(ark, images=1, request_id="ark-req-42")],
        ),
        "failed_over": make_generation(
            owner=other_user,
            model="seedream-4.5",
            prompt="a fox reading by candlelight",
            attempts=[
                attempt_spec(ark, outcome="failed", error_code="rate_limited"),
                attempt_spec(fal, images=1, request_id="fal-task-9"),
            ],
        ),
        "failed": make_generation(
            owner=user,
            status="failed",
            prompt="a brutalist library",
            created_at=timezone.now() - timedelta(days=20),
            attempts=[attempt_spec(ark, outcome="failed", error_code="server_error")],
        ),
    }


def listed(client: Client, **params: object) -> set[Generation]:
    response = client.get(LIST_URL, params)
    assert response.status_code == 200, response.content[:500]
    return set(response.context["cl"].result_list)


def test_filters_by_user_key_model_provider_status_and_date(
    admin_client, three, user, api_key, ark, fal
):
    keyed, failed_over, failed = three["keyed"], three["failed_over"], three["failed"]
    assert listed(admin_client, owner__id__exact=user.pk) == {keyed, failed}
    assert listed(admin_client, api_key=api_key.pk) == {keyed}
    assert listed(admin_client, api_key="none") == {failed_over, failed}
    assert listed(admin_client, model="seedream-4.5") == {failed_over}
    assert listed(admin_client, provider="fal") == {failed_over}  # any attempt
    assert listed(admin_client, provider="ark") == {keyed, failed_over, failed}
    assert listed(admin_client, served_by=ark.pk) == {keyed, failed}  # last attempt
    assert listed(admin_client, served_by=fal.pk) == {failed_over}
    assert listed(admin_client, status__exact="failed") == {failed}
    week_ago = (timezone.now() - timedelta(days=7)).isoformat()
    assert listed(admin_client, created_at__gte=week_ago) == {keyed, failed_over}


def test_search_by_prompt_generation_id_and_provider_request_id(admin_client, three):
    assert listed(admin_client, q="koi") == {three["keyed"]}
    assert listed(admin_client, q="fal-task-9") == {three["failed_over"]}
    assert listed(admin_client, q=str(three["failed"].pk)) == {three["failed"]}
    assert listed(admin_client, q="nothing like this") == set()


def test_detail_shows_attempts_ledger_references_and_outputs(admin_client, three):
    generation = three["failed_over"]
    output = OutputImage.objects.get(generation=generation)
    default_storage.save(output.file.name, ContentFile(make_png()))
    reference = ReferenceImageFactory(
        generation=generation, file="references/ref.png", content=make_png(), height=48
    )

    page = admin_client.get(reverse("admin:generations_generation_change", args=[generation.pk]))

    assert page.status_code == 200
    body = page.content.decode()
    assert "fal-task-9" in body
    assert "rate_limited" in body
    assert "Ledger entries" in body
    assert "<p>Hold</p>" in body
    assert "<p>Capture</p>" in body
    output_url = reverse(
        "admin:generations_generation_file", args=[generation.pk, "output", output.pk]
    )
    reference_url = reverse(
        "admin:generations_generation_file", args=[generation.pk, "reference", reference.pk]
    )
    assert output_url in body
    assert reference_url in body
    assert admin_client.get(output_url).status_code == 200
    assert admin_client.get(reference_url).status_code == 200
    assert 'name="_save"' not in body  # read-only


def test_generations_cannot_be_changed_or_deleted(admin_client, three):
    generation = three["keyed"]
    change = reverse("admin:generations_generation_change", args=[generation.pk])
    delete = reverse("admin:generations_generation_delete", args=[generation.pk])
    assert admin_client.post(change, {"prompt": "changed"}).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    generation.refresh_from_db()
    assert generation.prompt == "a koi pond from above"


def test_files_are_for_staff_only(client, user, three):
    generation = three["keyed"]
    output = OutputImage.objects.get(generation=generation)
    url = reverse("admin:generations_generation_file", args=[generation.pk, "output", output.pk])
    client.force_login(user)
    assert client.get(url).status_code == 302  # to the admin login


def test_attempt_list_searches_by_request_id(admin_client, three):
    response = admin_client.get(
        reverse("admin:generations_providerattempt_changelist"), {"q": "ark-req-42"}
    )
    assert [attempt.provider_request_id for attempt in response.context["cl"].result_list] == [
        "ark-req-42"
    ]


def test_detail_links_to_its_ledger_entries(admin_client, three):
    generation = three["keyed"]
    page = admin_client.get(reverse("admin:generations_generation_change", args=[generation.pk]))
    url = reverse("admin:accounts_creditentry_changelist")
    link = f"{url}?generation__id__exact={generation.pk}"
    assert link in page.content.decode()
    entries = admin_client.get(link).context["cl"].result_list
    assert sorted(entry.kind for entry in entries) == ["capture", "hold"]


def test_demo_output_has_a_column_a_filter_and_a_line_on_the_change_page(
    admin_client, three, user, local_account
):
    demo = make_generation(
        owner=user,
        prompt="a lighthouse in placeholder grey",
        attempts=[attempt_spec(local_account, images=1)],
    )
    real = {three["keyed"], three["failed_over"], three["failed"]}

    page = admin_client.get(LIST_URL)
    body = page.content.decode()
    assert "column-demo_output" in body
    assert "By demo output" in body
    assert "Demo placeholders" in body
    assert listed(admin_client, demo="yes") == {demo}
    assert listed(admin_client, demo="no") == real
    assert listed(admin_client, demo="maybe") == real | {demo}

    change = reverse("admin:generations_generation_change", args=[demo.pk])
    body = admin_client.get(change).content.decode()
    assert "Demo output" in body
    assert 'alt="True"' in body.split("Demo output", 1)[1][:400]
    body = admin_client.get(
        reverse("admin:generations_generation_change", args=[three["keyed"].pk])
    ).content.decode()
    assert 'alt="False"' in body.split("Demo output", 1)[1][:400]
