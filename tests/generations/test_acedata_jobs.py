"""Ace Data Cloud's async mode runs as an ordinary job: the worker submits, then polls from
re-scheduled tasks, each reading the task once (no thread waits for it)."""

import pytest

from generations.catalog import GenerationSpec
from generations.models import Generation
from generations.services import generation_submit
from generations.services.polling import generation_poll
from generations.services.run import generation_run
from tests.emulators.acedata import AceDataEmulator
from tests.providers.acedata_support import ace_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, dict]]:
    """Tasks sent to the broker, recorded instead of run."""
    calls: list[tuple[str, dict]] = []

    def task_send(name, *, kwargs, countdown=None):
        calls.append((name, kwargs))
        return True

    monkeypatch.setattr("generations.runtime.dispatch.task_send", task_send)
    return calls


def test_an_async_ace_generation_is_submitted_then_polled_by_tasks(
    user, default_prices, sent, django_capture_on_commit_callbacks
):
    emulator = AceDataEmulator()
    with emulator.serve() as base_url:
        ace_account(emulator, base_url, **{"async": True})
        generation = generation_submit(
            user=user,
            spec=GenerationSpec(model="seedream-4.0", prompt="a kite", size="2K", num_images=2),
        )
        sent.clear()
        with django_capture_on_commit_callbacks(execute=True):
            generation_run(generation_id=str(generation.id))

        attempt = generation.attempts.get()
        (task_id,) = emulator.tasks
        assert attempt.provider_request_id == task_id
        assert [name for name, _ in sent] == ["generations.poll_generation"]
        while sent:
            _, kwargs = sent.pop()
            with django_capture_on_commit_callbacks(execute=True):
                generation_poll(**kwargs)

    generation.refresh_from_db()
    assert generation.status == Generation.Status.SUCCEEDED, generation.error_message
    assert generation.outputs.count() == 2
    assert emulator.tasks[task_id].polls == 2  # one read per poll task
