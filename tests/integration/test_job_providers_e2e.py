"""Job-based providers end to end: emulator on a loopback port, a real worker polling it."""

import io
import time

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from accounts.models import CreditAccount, CreditEntry
from generations.catalog import GenerationSpec
from generations.models import Generation, ProviderAttempt
from generations.services import generation_cancel, generation_submit
from generations.services.provider_accounts import ProviderAccountInput, provider_account_create
from tests.emulators.fal import FalEmulator
from tests.emulators.replicate import ReplicateEmulator
from tests.emulators.scenario import ScenarioEmulator
from tests.emulators.sinancode import SinanCodeEmulator
from tests.integration.conftest import start_worker, stop_worker, wait_for_terminal, worker_log

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PRICE = 30  # seedream-4.0
PROVIDERS = {
    "replicate": (ReplicateEmulator, "/v1"),
    "fal": (FalEmulator, ""),
    "scenario": (ScenarioEmulator, "/v1"),
    "sinancode": (SinanCodeEmulator, "/v1"),
}


def add_account(kind: str, emulator, suffix: str):
    return provider_account_create(
        data=ProviderAccountInput(
            kind=kind,
            label=f"{kind} team",
            base_url=f"{emulator.base_url}{suffix}",
            api_key=emulator.api_key,
            models=["seedream-4.0"],
        ),
        actor=None,
    )


def submit(user, prompt: str, num_images: int = 2) -> Generation:
    return generation_submit(
        user=user,
        spec=GenerationSpec(model="seedream-4.0", prompt=prompt, size="2K", num_images=num_images),
    )


def wait_until(predicate, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


@pytest.mark.parametrize("kind", sorted(PROVIDERS))
def test_job_generation_completes_on_a_real_worker(kind, user, default_prices, real_worker):
    emulator_class, suffix = PROVIDERS[kind]
    emulator = emulator_class(ready_after_polls=2)
    with emulator.serve():
        add_account(kind, emulator, suffix)
        generation = submit(user, f"{kind} lighthouse at dawn")
        try:
            finished = wait_for_terminal(generation.id, timeout_s=90)
        except AssertionError:
            raise AssertionError(worker_log(real_worker)) from None

    assert finished.status == Generation.Status.SUCCEEDED, finished.error_message
    outputs = list(finished.outputs.all())
    assert len(outputs) == 2
    for output in outputs:
        with default_storage.open(output.file.name) as stored:
            assert Image.open(io.BytesIO(stored.read())).size == (2048, 2048)
    attempt = finished.attempts.get()
    assert attempt.outcome == "succeeded"
    assert attempt.provider_request_id
    assert attempt.job_state is not None
    assert finished.credits_charged == 2 * PRICE


def test_cancel_stops_the_job_at_the_provider_and_releases_the_hold(
    user, default_prices, real_worker
):
    emulator = ReplicateEmulator(ready_after_polls=10_000)  # a job that would run for ages
    with emulator.serve():
        add_account("replicate", emulator, "/v1")
        available_before = CreditAccount.objects.get(user=user).available
        generation = submit(user, "a very slow harbour")
        wait_until(
            lambda: (
                ProviderAttempt.objects.filter(generation=generation)
                .exclude(provider_request_id="")
                .exists()
            ),
            timeout_s=60,
        )
        generation_cancel(generation=generation, user=user)
        wait_until(
            lambda: ProviderAttempt.objects.get(generation=generation).outcome == "failed",
            timeout_s=60,
        )
        canceled_paths = [r.path for r in emulator.requests if r.path.endswith("/cancel")]

    generation.refresh_from_db()
    assert generation.status == Generation.Status.CANCELED
    assert canceled_paths, "the provider was never asked to cancel"
    assert CreditAccount.objects.get(user=user).available == available_before
    assert not CreditEntry.objects.filter(generation=generation, kind="capture").exists()


def test_a_job_past_the_deadline_fails_and_releases_its_credits(user, default_prices):
    emulator = SinanCodeEmulator(ready_after_polls=10_000)
    worker = start_worker({"GENERATION_DEADLINE_S": "4", "PROVIDER_POLL_MAX_S": "1"})
    try:
        with emulator.serve():
            add_account("sinancode", emulator, "/v1")
            available_before = CreditAccount.objects.get(user=user).available
            generation = submit(user, "a stuck job [fault:stuck]")
            try:
                finished = wait_for_terminal(generation.id, timeout_s=60)
            except AssertionError:
                raise AssertionError(worker_log(worker)) from None
    finally:
        stop_worker(worker)

    assert finished.status == Generation.Status.FAILED
    assert finished.error_code == "deadline_exceeded"
    assert "nothing was charged" in finished.error_message
    assert CreditAccount.objects.get(user=user).available == available_before
