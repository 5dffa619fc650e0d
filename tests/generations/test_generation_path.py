"""The generation path in one process: submit -> (eager task) -> run -> stored outputs."""

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from generations.catalog import GenerationSpec, SpecError
from generations.models import Generation, OutputImage, ProviderAttempt
from generations.services import IdempotencyConflict, generation_run, generation_submit
from tests.conftest import make_png

pytestmark = pytest.mark.django_db


def submit(user, **spec_fields):
    fields = {"model": "seedream-4.0", "prompt": "a lighthouse at dawn", "size": "1K"}
    fields.update(spec_fields)
    references = fields.pop("references", ())
    key = fields.pop("idempotency_key", "")
    return generation_submit(
        user=user, spec=GenerationSpec(**fields), references=references, idempotency_key=key
    )


def test_submit_runs_to_success_with_outputs_and_thumbnails_in_storage(
    user, local_account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        generation = submit(user, num_images=3, aspect_ratio="16:9")

    generation.refresh_from_db()
    assert generation.status == Generation.Status.SUCCEEDED
    outputs = list(generation.outputs.all())
    assert [output.index for output in outputs] == [0, 1, 2]
    for output in outputs:
        assert (output.width, output.height) == (1280, 720)
        assert default_storage.exists(output.file.name)
        with default_storage.open(output.thumbnail.name) as thumbnail_file:
            thumbnail = Image.open(io.BytesIO(thumbnail_file.read()))
        assert max(thumbnail.size) == 512
    attempt = ProviderAttempt.objects.get(generation=generation)
    assert attempt.outcome == ProviderAttempt.Outcome.SUCCEEDED
    assert attempt.images_returned == 3
    assert attempt.account == local_account


def test_invalid_spec_creates_nothing(user, local_account):
    with pytest.raises(SpecError) as raised:
        submit(user, model="seedream-4.5", size="1024x1024")
    assert "3,686,400" in raised.value.errors["size"][0]
    assert not Generation.objects.exists()


def test_unreadable_reference_is_a_field_error(user, local_account):
    with pytest.raises(SpecError) as raised:
        submit(user, references=[b"not an image at all"])
    assert "not a readable image" in raised.value.errors["references"][0]
    assert not Generation.objects.exists()


def test_references_are_stored_in_order(user, local_account, django_capture_on_commit_callbacks):
    first, second = make_png(color=(1, 2, 3)), make_png(color=(4, 5, 6))
    with django_capture_on_commit_callbacks(execute=True):
        generation = submit(user, references=[first, second])
    stored = list(generation.references.all())
    assert [reference.position for reference in stored] == [0, 1]
    assert [reference.format for reference in stored] == ["png", "png"]
    assert all(default_storage.exists(reference.file.name) for reference in stored)
    generation.refresh_from_db()
    assert generation.status == Generation.Status.SUCCEEDED


def run_now(django_capture_on_commit_callbacks, user, **spec_fields) -> Generation:
    with django_capture_on_commit_callbacks(execute=True):
        generation = submit(user, **spec_fields)
    generation.refresh_from_db()
    return generation


def test_running_twice_never_duplicates_outputs(
    user, local_account, django_capture_on_commit_callbacks
):
    generation = run_now(django_capture_on_commit_callbacks, user, num_images=2)
    assert generation.status == Generation.Status.SUCCEEDED

    generation_run(generation_id=str(generation.id))

    assert OutputImage.objects.filter(generation=generation).count() == 2
    assert ProviderAttempt.objects.filter(generation=generation).count() == 1


def test_provider_failure_ends_failed_with_a_readable_reason(
    user, local_account, django_capture_on_commit_callbacks
):
    generation = run_now(django_capture_on_commit_callbacks, user, prompt="a castle [fail]")
    assert generation.status == Generation.Status.FAILED
    assert generation.error_code == "provider_unavailable"
    assert generation.error_message
    assert not generation.outputs.exists()
    # An outage is worth one more try on the only account; both calls are recorded.
    outcomes = ProviderAttempt.objects.filter(generation=generation).values_list(
        "outcome", flat=True
    )
    assert list(outcomes) == ["failed", "failed"]


def test_no_provider_for_the_model_fails_clearly(user, django_capture_on_commit_callbacks):
    generation = run_now(django_capture_on_commit_callbacks, user)
    assert generation.status == Generation.Status.FAILED
    assert generation.error_code == "no_provider"
    assert "provider_account" in generation.error_message


def test_internal_error_still_ends_in_a_terminal_state(
    user, local_account, monkeypatch, django_capture_on_commit_callbacks
):
    def explode(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("generations.services.outputs.image_store", explode)
    generation = run_now(django_capture_on_commit_callbacks, user)
    assert generation.status == Generation.Status.FAILED
    assert generation.error_code == "internal_error"
    assert "disk on fire" not in generation.error_message


def test_same_idempotency_key_returns_the_same_generation(user, local_account):
    first = submit(user, idempotency_key="key-1")
    second = submit(user, idempotency_key="key-1")
    assert first.id == second.id
    assert Generation.objects.count() == 1


def test_same_idempotency_key_with_another_request_conflicts(user, local_account):
    submit(user, idempotency_key="key-1")
    with pytest.raises(IdempotencyConflict):
        submit(user, idempotency_key="key-1", prompt="something else")
    assert Generation.objects.count() == 1


def test_seeded_generation_is_deterministic(
    user, local_account, django_capture_on_commit_callbacks
):
    spec = {"model": "seedream-3.0-t2i", "size": "512x512", "seed": 42}
    first = run_now(django_capture_on_commit_callbacks, user, **spec)
    second = run_now(django_capture_on_commit_callbacks, user, **spec)
    assert first.outputs.get().sha256 == second.outputs.get().sha256


def test_a_first_run_does_not_read_which_images_are_stored_and_a_resumed_one_does(
    user, local_account
):
    from unittest import mock

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with mock.patch("generations.runtime.dispatch.task_send"):
        first = submit(user)
        second = submit(user, prompt="a harbour at dusk")
    # The second was started once before, and its run lost before any call: it is requeued.
    Generation.objects.filter(id=second.id).update(started_at="2026-01-01T00:00:00Z")

    def reads_of_stored_indexes(generation) -> int:
        with CaptureQueriesContext(connection) as queries:
            generation_run(generation_id=str(generation.id))
        return sum(
            'SELECT "generations_outputimage"."index"' in query["sql"]
            for query in queries.captured_queries
        )

    assert reads_of_stored_indexes(first) == 0
    assert reads_of_stored_indexes(second) == 1
    for generation in (first, second):
        generation.refresh_from_db()
        assert generation.status == Generation.Status.SUCCEEDED
        assert generation.outputs.count() == 1
