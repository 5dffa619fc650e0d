"""Replicate's `Prefer: wait`: asked for only when the account's jobs are typically short; a
short job comes back finished from the create, a longer one is polled; the worker collects a
finished job at once; the emulator's hold blocks nobody else. Replicate's own run times,
recorded on each attempt, time the next jobs' first polls."""

import threading
import time
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from generations import tasks
from generations.catalog import GenerationSpec
from generations.models import Generation, ProviderAccount, ProviderAttempt
from generations.providers import ContentRefused, ProviderError, ProviderJob, ProviderUsage
from generations.services import generation_submit
from generations.services.polling import generation_poll
from generations.services.provider_accounts import ProviderAccountInput, provider_account_create
from tests.emulators.replicate import ReplicateEmulator
from tests.factories import GenerationFactory, ProviderAttemptFactory
from tests.providers.support import PROMPT, images_of, make_request, pixels
from tests.providers.test_replicate import make_adapter

PREDICTIONS = "/v1/predictions/"


def gets(emulator: ReplicateEmulator) -> list[str]:
    return [request.path for request in emulator.requests if request.method == "GET"]


def test_a_job_done_within_the_wait_comes_back_finished_and_needs_no_get() -> None:
    emulator = ReplicateEmulator(job_seconds=0.05)
    adapter = make_adapter(emulator)

    job = adapter.submit(make_request(max_images=2, typical_job_s=2.0))
    status = adapter.poll(job)

    assert job.finished
    assert emulator.requests[0].headers["prefer"] == "wait=3"  # 1.5x the typical 2 s
    assert status.done
    images = images_of(status.outcomes)
    assert [pixels(image) for image in images] == [(2048, 2048)] * 2  # still downloaded
    assert isinstance(status.outcomes[-1], ProviderUsage)
    assert status.outcomes[-1].generated_images == 2
    assert [request.method for request in emulator.requests] == ["POST"]  # no poll GET
    assert gets(emulator) == []


@pytest.mark.parametrize(
    ("typical_job_s", "options"),
    [(None, {}), (6.0, {}), (2.0, {"prefer_wait_s": 0}), (2.0, {"prefer_wait_s": 1})],
    ids=["no-recent-jobs", "jobs-longer-than-the-hold", "holds-off", "hold-shorter-than-jobs"],
)
def test_no_hold_is_asked_for_jobs_not_known_to_be_short(
    typical_job_s: float | None, options: dict[str, Any]
) -> None:
    emulator = ReplicateEmulator(job_seconds=0.05)
    adapter = make_adapter(emulator, **options)

    job = adapter.submit(make_request(typical_job_s=typical_job_s))

    assert "prefer" not in emulator.requests[0].headers
    assert not job.finished  # answered at once, still starting: polled as usual


def test_generate_finishes_a_held_job_without_polling() -> None:
    emulator = ReplicateEmulator(job_seconds=0.05)

    outcomes = list(make_adapter(emulator).generate(make_request(typical_job_s=1.0)))

    assert len(images_of(outcomes)) == 1
    assert gets(emulator) == []


def test_a_job_that_outlasts_the_wait_falls_through_to_polling_urls_get() -> None:
    emulator = ReplicateEmulator(job_seconds=1.4)
    adapter = make_adapter(emulator, prefer_wait_s=1)

    started = time.monotonic()
    job = adapter.submit(make_request(typical_job_s=0.9))
    held_s = time.monotonic() - started
    running = adapter.poll(job)
    time.sleep(0.5)  # due by now
    finished = adapter.poll(job)

    assert 0.9 < held_s < 1.4  # Replicate held the create for the whole wait
    assert not job.finished
    assert "ended" not in job.state
    assert (running.done, running.provider_status) == (False, "processing")
    assert finished.done
    assert gets(emulator) == [f"{PREDICTIONS}{job.job_id}"] * 2  # urls.get


def test_by_polls_a_hold_cannot_finish_a_job_and_the_create_answers_at_once() -> None:
    emulator = ReplicateEmulator(ready_after_polls=1)
    adapter = make_adapter(emulator, prefer_wait_s=60)

    started = time.monotonic()
    job = adapter.submit(make_request(typical_job_s=10.0))

    assert time.monotonic() - started < 1
    assert not job.finished
    assert adapter.poll(job).provider_status == "processing"
    assert adapter.poll(job).done


def test_a_job_that_fails_within_the_wait_fails_at_its_first_poll_without_a_get() -> None:
    emulator = ReplicateEmulator(job_seconds=0.05)
    adapter = make_adapter(emulator)
    job = adapter.submit(make_request(prompt=f"{PROMPT} [fault:refuse]", typical_job_s=1.0))

    with pytest.raises(ContentRefused) as caught:
        adapter.poll(job)

    assert job.finished
    assert caught.value.request_id == job.job_id
    assert gets(emulator) == []


def test_a_held_create_blocks_no_other_request_and_a_cancel_ends_it() -> None:
    emulator = ReplicateEmulator(job_seconds=30)
    submitted: list[ProviderJob] = []
    with emulator.serve() as base_url:
        adapter = make_adapter(emulator, in_process=False, prefer_wait_s=20)
        request = make_request(typical_job_s=12.0)
        create = threading.Thread(target=lambda: submitted.append(adapter.submit(request)))
        started = time.monotonic()
        create.start()
        while not emulator.jobs:
            time.sleep(0.01)
        (job_id,) = emulator.jobs

        shown = adapter.check()  # another request, answered during the hold
        answered_s = time.monotonic() - started
        adapter.cancel(
            ProviderJob(
                job_id=job_id, state={"cancel_url": f"{base_url}{PREDICTIONS}{job_id}/cancel"}
            )
        )
        create.join(timeout=5)
        held_s = time.monotonic() - started

    assert "seedream-team" in shown
    assert answered_s < 2
    assert held_s < 5  # the cancel ended a 20 s hold
    (job,) = submitted
    assert job.finished
    with pytest.raises(ProviderError) as caught:
        adapter.poll(job)
    assert caught.value.code == "job_canceled"


# --- the worker --------------------------------------------------------------------------


@pytest.fixture
def scheduled_polls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Polls the worker schedules, captured instead of run (tasks run eagerly in tests)."""
    calls: list[dict[str, Any]] = []

    def apply_async(*, kwargs: dict[str, Any], countdown: float, **_options: Any) -> None:
        calls.append({"kwargs": kwargs, "countdown": countdown})

    monkeypatch.setattr(tasks.poll_generation_task, "apply_async", apply_async)
    return calls


def replicate_account(emulator: ReplicateEmulator, **options: Any) -> None:
    provider_account_create(
        data=ProviderAccountInput(
            kind="replicate",
            label="Replicate team",
            base_url=f"{emulator.base_url}/v1",
            api_key=emulator.api_key,
            models=["seedream-4.0"],
            options=options,
        ),
        actor=None,
    )


def recent_jobs_took(
    user: Any, seconds: float, count: int = 3, *, provider_seconds: float | None = None
) -> None:
    """Successful jobs of the (only) account, finished just now, that took ``seconds`` (and
    ``provider_seconds`` by the provider's clock, where given)."""
    generation = GenerationFactory(owner=user, prompt="earlier")
    account = ProviderAccount.objects.get()
    for _ in range(count):
        ProviderAttemptFactory(
            generation=generation,
            account=account,
            outcome=ProviderAttempt.Outcome.SUCCEEDED,
            latency_ms=int(seconds * 1000),
            job_ms=None if provider_seconds is None else int(provider_seconds * 1000),
            finished_at=timezone.now(),
        )


def submit_and_run(user: Any, django_capture_on_commit_callbacks: Any) -> Generation:
    with django_capture_on_commit_callbacks(execute=True):
        return generation_submit(
            user=user,
            spec=GenerationSpec(
                model="seedream-4.0", prompt="a harbour at noon", size="2K", num_images=2
            ),
        )


@pytest.mark.django_db
def test_a_job_finished_at_submit_is_completed_by_a_first_poll_scheduled_at_once(
    user: Any, default_prices: None, scheduled_polls: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    emulator = ReplicateEmulator(job_seconds=0.05)
    with emulator.serve():
        replicate_account(emulator)
        recent_jobs_took(user, 0.1)
        generation = submit_and_run(user, django_capture_on_commit_callbacks)
        (first_poll,) = scheduled_polls
        with django_capture_on_commit_callbacks(execute=True):
            generation_poll(**first_poll["kwargs"])

    assert emulator.requests[0].headers["prefer"] == "wait=1"
    assert first_poll["countdown"] == 0
    assert first_poll["kwargs"]["poll"] == 0
    generation.refresh_from_db()
    assert generation.status == Generation.Status.SUCCEEDED, generation.error_message
    assert generation.outputs.count() == 2
    assert len(scheduled_polls) == 1  # done at the first poll: nothing more scheduled
    assert gets(emulator) == []
    attempt = generation.attempts.get()
    assert attempt.outcome == "succeeded"
    assert attempt.job_state["ended"]["status"] == "succeeded"


@pytest.mark.django_db
def test_a_job_still_running_after_the_wait_is_first_polled_near_its_typical_time(
    user: Any, default_prices: None, scheduled_polls: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    emulator = ReplicateEmulator(ready_after_polls=1)
    with emulator.serve():
        replicate_account(emulator, prefer_wait_s=3)
        recent_jobs_took(user, 2.0)
        generation = submit_and_run(user, django_capture_on_commit_callbacks)

    (first_poll,) = scheduled_polls
    assert emulator.requests[0].headers["prefer"] == "wait=3"
    # 80% of the typical 2 s, less the time the submit took (never below the regular delay)
    assert settings.PROVIDER_POLL_FIRST_S <= first_poll["countdown"] <= 1.6
    generation.refresh_from_db()
    assert generation.status == Generation.Status.RUNNING


@pytest.mark.django_db
def test_without_recent_jobs_the_submit_is_not_held_and_polled_after_the_first_delay(
    user: Any, default_prices: None, scheduled_polls: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    emulator = ReplicateEmulator(job_seconds=0.05)
    with emulator.serve():
        replicate_account(emulator)
        submit_and_run(user, django_capture_on_commit_callbacks)

    (first_poll,) = scheduled_polls
    assert "prefer" not in emulator.requests[0].headers
    assert first_poll["countdown"] == settings.PROVIDER_POLL_FIRST_S


@pytest.mark.django_db
def test_the_poll_that_finds_the_job_done_records_replicates_own_run_time(
    user: Any, default_prices: None, scheduled_polls: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    emulator = ReplicateEmulator(job_seconds=0.2)
    with emulator.serve():
        replicate_account(emulator)
        generation = submit_and_run(user, django_capture_on_commit_callbacks)
        time.sleep(0.6)  # noticed well after it finished
        with django_capture_on_commit_callbacks(execute=True):
            generation_poll(**scheduled_polls[0]["kwargs"])

    generation.refresh_from_db()
    assert generation.status == Generation.Status.SUCCEEDED, generation.error_message
    attempt = generation.attempts.get()
    assert attempt.job_ms is not None
    assert 180 <= attempt.job_ms <= 260  # the job's 0.2 s, not the 0.6 s until it was noticed
    assert attempt.latency_ms is not None
    assert attempt.latency_ms >= 600


@pytest.mark.django_db
def test_with_replicates_own_run_times_the_first_poll_comes_just_after_the_typical_time(
    user: Any, default_prices: None, scheduled_polls: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    emulator = ReplicateEmulator(ready_after_polls=1)
    with emulator.serve():
        replicate_account(emulator)
        # Noticed at 11-12 s each by our clock; 10 s each by Replicate's.
        recent_jobs_took(user, 11.5, provider_seconds=10.0)
        submit_and_run(user, django_capture_on_commit_callbacks)

    (first_poll,) = scheduled_polls
    assert "prefer" not in emulator.requests[0].headers  # 10 s jobs are not held
    # 10 s and 1% more after the submit's answer; not 80% of our 11.5 s (9.2 s)
    assert first_poll["countdown"] == pytest.approx(10.1)
    assert first_poll["kwargs"]["typical_job_s"] == pytest.approx(10.0)
