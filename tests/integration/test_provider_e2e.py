"""Real provider adapters end to end: an emulator on a loopback port, a real worker process."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from accounts.models import CreditAccount, CreditEntry
from generations.catalog import GenerationSpec
from generations.models import Generation, ProviderAccount
from generations.services import generation_submit
from generations.services.provider_accounts import ProviderAccountInput, provider_account_create
from tests.emulators.ark import ArkEmulator
from tests.integration.conftest import wait_for_terminal

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ARK_KEY = "ark-test-key-0123456789"
PRICE = 30  # seedream-4.0


def ark_account(label: str, base_url: str, *, priority: int) -> ProviderAccount:
    return provider_account_create(
        data=ProviderAccountInput(
            kind="byteplus",
            label=label,
            base_url=f"{base_url}/api/v3",
            api_key=ARK_KEY,
            models=["seedream-4.0"],
            priority=priority,
        ),
        actor=None,
    )


def submit(user, prompt: str = "a lighthouse in fog") -> Generation:
    return generation_submit(
        user=user,
        spec=GenerationSpec(
            model="seedream-4.0", prompt=prompt, size="2K", aspect_ratio="16:9", num_images=3
        ),
    )


def test_ark_generation_completes_on_a_real_worker(user, default_prices, real_worker):
    emulator = ArkEmulator(flavour="byteplus", api_key=ARK_KEY)
    with emulator.serve() as base_url:
        ark_account("BytePlus", base_url, priority=1)
        available_before = CreditAccount.objects.get(user=user).available
        generation = submit(user)
        finished = wait_for_terminal(generation.id, timeout_s=90)

    assert finished.status == Generation.Status.SUCCEEDED, finished.error_message
    outputs = list(finished.outputs.all())
    assert len(outputs) == 3
    for output in outputs:
        with default_storage.open(output.file.name) as stored:
            assert Image.open(io.BytesIO(stored.read())).size == (2848, 1600)
        assert output.provider_url.startswith(base_url)
    attempt = finished.attempts.get()
    assert (attempt.outcome, attempt.images_returned) == ("succeeded", 3)
    assert attempt.usage["generated_images"] == 3
    assert finished.credits_charged == 3 * PRICE
    assert CreditAccount.objects.get(user=user).available == available_before - 3 * PRICE
    assert emulator.requests[0].headers["authorization"] == f"Bearer {ARK_KEY}"


def test_failover_from_an_account_answering_503_charges_once(user, default_prices, real_worker):
    down = ArkEmulator(flavour="byteplus", api_key=ARK_KEY)
    down.faults.add("unavailable", times=100)
    healthy = ArkEmulator(flavour="byteplus", api_key=ARK_KEY)
    with down.serve() as down_url, healthy.serve() as healthy_url:
        first = ark_account("BytePlus primary", down_url, priority=1)
        second = ark_account("BytePlus backup", healthy_url, priority=2)
        generation = submit(user, prompt="failover harbour")
        finished = wait_for_terminal(generation.id, timeout_s=90)

    assert finished.status == Generation.Status.SUCCEEDED, finished.error_message
    attempts = list(
        finished.attempts.order_by("id").values_list("account_id", "outcome", "http_status")
    )
    assert attempts == [(first.pk, "failed", 503), (second.pk, "succeeded", None)]
    assert len(down.requests) == 1
    captures = CreditEntry.objects.filter(generation=finished, kind="capture")
    assert [entry.held_change for entry in captures] == [-3 * PRICE]
    assert finished.credits_charged == 3 * PRICE


def test_check_command_against_a_live_emulator(db):
    emulator = ArkEmulator(flavour="byteplus", api_key=ARK_KEY)
    with emulator.serve() as base_url:
        ark_account("BytePlus", base_url, priority=1)
        output = io.StringIO()
        call_command("provider_account", "check", "BytePlus", stdout=output)
        assert "key was accepted" in output.getvalue()
        bad = provider_account_create(
            data=ProviderAccountInput(
                kind="byteplus",
                label="Wrong key",
                base_url=f"{base_url}/api/v3",
                api_key="not-the-key",
                models=["seedream-4.0"],
            ),
            actor=None,
        )
        with pytest.raises(Exception, match="auth_failed"):
            call_command("provider_account", "check", bad.label, stdout=io.StringIO())
