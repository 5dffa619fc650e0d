"""Credits along the generation path: hold on submit, pay only for delivered images."""

import pytest
from django.urls import reverse

from accounts.models import CreditAccount, CreditEntry
from accounts.services.credits import InsufficientCredits
from generations.catalog import GenerationSpec
from generations.models import Generation, ProviderAttempt
from generations.providers.local import LocalAdapter
from generations.services import GenerationNotCancelable, generation_cancel, generation_submit
from generations.services.run import generation_run
from tests.conftest import funded_user

pytestmark = pytest.mark.django_db

PRICE = 30  # seedream-4.0, seeded by the price migration


def submit(user, *, prompt="a quiet harbour", num_images=3):
    return generation_submit(
        user=user,
        spec=GenerationSpec(model="seedream-4.0", prompt=prompt, size="1K", num_images=num_images),
    )


def entries(generation) -> list[tuple[str, int, int]]:
    return [
        (entry.kind, entry.amount, entry.held_change)
        for entry in CreditEntry.objects.filter(generation=generation).order_by("id")
    ]


def balance(user) -> tuple[int, int]:
    account = CreditAccount.objects.get(user=user)
    return account.available, account.held


def test_submit_holds_price_times_images(user, local_account, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    before = balance(user)[0]
    generation = submit(user)  # eager task runs only on commit; here it is still queued
    assert generation.credits_held == 3 * PRICE
    assert generation.price_per_image == PRICE
    assert entries(generation) == [("hold", -90, 90)]
    assert balance(user) == (before - 90, 90)


def test_success_captures_delivered_images_only(
    user, local_account, django_capture_on_commit_callbacks
):
    before = balance(user)[0]
    with django_capture_on_commit_callbacks(execute=True):
        generation = submit(user, prompt="a harbour [partial]")
    generation.refresh_from_db()
    assert generation.status == Generation.Status.PARTIAL
    assert generation.outputs.count() == 2
    assert generation.credits_charged == 2 * PRICE
    assert entries(generation) == [("hold", -90, 90), ("capture", 0, -60), ("release", 30, -30)]
    assert balance(user) == (before - 60, 0)
    assert generation.image_errors[0]["index"] == 2


def test_failure_releases_everything(user, local_account, django_capture_on_commit_callbacks):
    before = balance(user)[0]
    with django_capture_on_commit_callbacks(execute=True):
        generation = submit(user, prompt="a harbour [fail]")
    generation.refresh_from_db()
    assert generation.status == Generation.Status.FAILED
    assert generation.credits_charged == 0
    assert entries(generation) == [("hold", -90, 90), ("release", 90, -90)]
    assert balance(user) == (before, 0)


def test_insufficient_credits_creates_nothing_and_calls_no_provider(local_account):
    poor = funded_user(50)
    with pytest.raises(InsufficientCredits) as raised:
        submit(poor, num_images=2)
    assert raised.value.needed == 60
    assert raised.value.shortfall == 10
    assert not Generation.objects.exists()
    assert not ProviderAttempt.objects.exists()
    assert balance(poor) == (50, 0)


def test_page_shows_the_shortfall_as_a_form_error(client, local_account):
    poor = funded_user(10)
    client.force_login(poor)
    response = client.post(
        reverse("workspace"),
        {
            "model": "seedream-4.0",
            "prompt": "p",
            "size": "1K",
            "num_images": 1,
            "visibility": "private",
        },
    )
    assert response.status_code == 400
    assert "20 short" in response.content.decode()
    assert not Generation.objects.exists()


def test_cancel_releases_the_hold_and_a_late_result_is_never_charged(user, local_account):
    before = balance(user)[0]
    generation = submit(user)  # queued: on_commit not executed
    generation_cancel(generation=generation, user=user)
    assert balance(user) == (before, 0)

    generation_run(generation_id=str(generation.id))  # the worker picks it up late

    generation.refresh_from_db()
    assert generation.status == Generation.Status.CANCELED
    assert generation.credits_charged == 0
    assert entries(generation) == [("hold", -90, 90), ("release", 90, -90)]


def test_cancel_while_the_provider_works_discards_the_late_result(user, local_account, monkeypatch):
    generation = submit(user)
    original_generate = LocalAdapter.generate

    def cancel_mid_call(adapter, request):
        # The teammate cancels while the provider is still working on the call.
        generation_cancel(generation=generation, user=user)
        yield from original_generate(adapter, request)

    monkeypatch.setattr(LocalAdapter, "generate", cancel_mid_call)
    before = balance(user)[0] + generation.credits_held

    generation_run(generation_id=str(generation.id))

    generation.refresh_from_db()
    assert generation.status == Generation.Status.CANCELED
    assert generation.credits_charged == 0
    assert entries(generation) == [("hold", -90, 90), ("release", 90, -90)]
    assert balance(user) == (before, 0)


def test_cancel_rules(user, other_user, local_account, django_capture_on_commit_callbacks):
    generation = submit(user)
    with pytest.raises(GenerationNotCancelable, match="owner"):
        generation_cancel(generation=generation, user=other_user)
    generation_cancel(generation=generation, user=user)
    with pytest.raises(GenerationNotCancelable, match="nothing to cancel"):
        generation_cancel(generation=generation, user=user)


def test_quote_preview_shows_the_hold(client, user, local_account):
    client.force_login(user)
    response = client.get(
        reverse("compose-quote"),
        {
            "model": "seedream-4.5",
            "prompt": "p",
            "size": "2K",
            "num_images": 2,
            "visibility": "private",
        },
    )
    assert "80 credits" in response.content.decode()
    problem = client.get(
        reverse("compose-quote"),
        {
            "model": "seedream-4.5",
            "prompt": "p",
            "size": "1024x1024",
            "num_images": 1,
            "visibility": "private",
        },
    ).content.decode()
    assert "3,686,400" in problem
