"""What every job adapter keeps beyond the contract suite, each through its own emulator.

A job provider is submitted to, then polled: its submit meets the same faults as any call, its
polls meet them too (a passing one is "not done yet", anything else is raised and must not fail
over: the provider took the job), and a job's own faults (stuck, failing after it ran, links
that are flaky or gone) end the same way whichever provider ran it. A row names only what the
provider words differently: where its polls go and what its statuses read.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from generations.providers import (
    AuthError,
    BadResponse,
    JobAdapter,
    ProviderError,
    ProviderImageFailure,
    ProviderJob,
    ProviderTimeout,
    ProviderUsage,
    RateLimited,
    Unavailable,
)
from generations.providers.acedata import AceDataAdapter
from generations.providers.fal import FalAdapter
from generations.providers.replicate import ReplicateAdapter
from generations.providers.scenario import ScenarioAdapter
from generations.providers.sinancode import SinanCodeAdapter
from tests.emulators.acedata import AceDataEmulator
from tests.emulators.fal import FalEmulator
from tests.emulators.job_emulator import JobEmulator
from tests.emulators.replicate import ReplicateEmulator
from tests.emulators.scenario import ScenarioEmulator
from tests.emulators.sinancode import SinanCodeEmulator
from tests.providers.support import Sleeps, images_of, make_adapter, make_request, pixels, run_job


@dataclass(frozen=True)
class JobProvider:
    adapter: type[JobAdapter]
    emulator: Callable[[], JobEmulator]
    poll_path: str  # a fault queued with this path meets a status poll
    queued: tuple[str, float | None]  # the status (and progress) of a job not yet running
    running: str  # the status of a running job
    passing_poll_failure: str  # what the status of a poll that failed in passing says
    # A job that failed after running: what its error says, its provider code and HTTP status,
    # and whether the error names the job.
    run_failure: tuple[str, str | None, int | None, bool]
    billed_when_links_expire: int  # generated_images of a group of 2 whose links are gone
    # A poll answered with a body that is not JSON: retried at the next poll (None), or raised.
    malformed_poll: type[ProviderError] | None
    api_key: str = "test-key"
    cancels: bool = True  # it documents a cancel, which the adapter uses at its deadline
    options: tuple[tuple[str, Any], ...] = ()  # the account's, where they choose the job mode


JOB_PROVIDERS = [
    JobProvider(
        ReplicateAdapter,
        ReplicateEmulator,
        poll_path="/v1/predictions/",
        queued=("starting", 0.0),
        running="processing",
        passing_poll_failure="poll failed: ",
        run_failure=("CUDA error", None, None, True),
        billed_when_links_expire=2,  # Replicate made (and billed) them
        malformed_poll=BadResponse,
    ),
    JobProvider(
        FalAdapter,
        FalEmulator,
        poll_path="/status",
        queued=("IN_QUEUE", 0.0),
        running="IN_PROGRESS",
        passing_poll_failure="poll failed: ",
        run_failure=(
            "The model failed while generating the image",
            "internal_server_error",
            500,
            True,
        ),
        billed_when_links_expire=2,
        malformed_poll=BadResponse,
    ),
    JobProvider(
        ScenarioAdapter,
        ScenarioEmulator,
        poll_path="/jobs/",
        queued=("queued", 0.0),
        running="in-progress",
        passing_poll_failure="retrying",
        run_failure=("Inference failed", None, None, False),
        billed_when_links_expire=0,
        malformed_poll=None,
        api_key="test-key:test-secret",  # Scenario's credential is KEY:SECRET
    ),
    JobProvider(
        SinanCodeAdapter,
        SinanCodeEmulator,
        poll_path="/tasks/",
        queued=("pending", None),
        running="processing",
        passing_poll_failure="retrying",
        run_failure=("The upstream generation failed", "generation_failed", None, False),
        cancels=False,  # SinanCode documents no cancel
        billed_when_links_expire=0,
        malformed_poll=None,
    ),
    # Ace's async mode. A task record has no status, only a `response` once finished, so a
    # queued task and a running one both read "pending"; Ace documents no cancel (§4.4).
    JobProvider(
        AceDataAdapter,
        AceDataEmulator,
        poll_path="/seedream/tasks",
        queued=("pending", None),
        running="pending",
        passing_poll_failure="poll failed: ",
        run_failure=("fetch failed", "api_error", None, False),  # Ace's own example
        cancels=False,
        billed_when_links_expire=2,  # Ace made (and bills) each image it links to
        malformed_poll=BadResponse,
        options=(("async", True),),
    ),
]


@pytest.fixture(params=JOB_PROVIDERS, ids=[row.adapter.kind for row in JOB_PROVIDERS])
def provider(request: pytest.FixtureRequest) -> JobProvider:
    return request.param


@pytest.fixture
def emulator(provider: JobProvider) -> JobEmulator:
    return provider.emulator()


def adapter_for(provider: JobProvider, emulator: JobEmulator, **account: Any) -> JobAdapter:
    """The provider's job adapter on `emulator` (`account` as for `make_adapter`)."""
    account = {"api_key": provider.api_key, **dict(provider.options), **account}
    return make_adapter(provider.adapter, emulator, **account)


def submitted(provider: JobProvider, emulator: JobEmulator) -> tuple[JobAdapter, ProviderJob]:
    adapter = adapter_for(provider, emulator)
    return adapter, adapter.submit(make_request())


# --- the submit ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error_class", "failover_safe"),
    [
        ("rate_limit", RateLimited, True),
        ("server_error", Unavailable, True),
        ("unavailable", Unavailable, True),
        ("drop", Unavailable, False),  # sent: the provider may have taken the job
        ("hang", ProviderTimeout, False),
        ("malformed", BadResponse, False),
        ("auth", AuthError, True),
    ],
)
def test_submit_faults_become_the_right_errors(
    provider: JobProvider,
    emulator: JobEmulator,
    fault: str,
    error_class: type[ProviderError],
    failover_safe: bool,
) -> None:
    emulator.faults.add(fault, seconds=4 if fault == "rate_limit" else 0)

    with pytest.raises(ProviderError) as caught:
        adapter_for(provider, emulator).submit(make_request())

    assert type(caught.value) is error_class
    assert caught.value.failover_safe is failover_safe
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 4


def test_a_wrong_key_is_an_auth_error_that_may_fail_over(
    provider: JobProvider, emulator: JobEmulator
) -> None:
    adapter = adapter_for(provider, emulator, api_key=f"{provider.api_key}-revoked")

    with pytest.raises(AuthError) as caught:
        adapter.submit(make_request())

    assert caught.value.failover_safe
    assert "revoked" not in str(caught.value)


def test_latency_only_delays(provider: JobProvider, emulator: JobEmulator) -> None:
    emulator.faults.add("latency", seconds=0.01)

    assert len(images_of(run_job(adapter_for(provider, emulator), make_request()))) == 1


# --- the polls -----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["rate_limit", "server_error", "unavailable", "drop", "hang"])
def test_a_poll_that_fails_in_passing_is_not_done_and_a_later_one_finishes(
    provider: JobProvider, emulator: JobEmulator, fault: str
) -> None:
    adapter, job = submitted(provider, emulator)
    emulator.faults.add(fault, path=provider.poll_path)

    failed = adapter.poll(job)
    later = [adapter.poll(job) for _ in range(2)]  # running, then done

    code = {"rate_limit": "rate_limited", "hang": "provider_timeout"}.get(
        fault, "provider_unavailable"
    )
    assert failed.done is False
    assert provider.passing_poll_failure in failed.provider_status
    assert code in failed.provider_status
    assert [status.done for status in later] == [False, True]


def test_a_malformed_poll_reply_is_retried_or_raised_as_the_provider_chose(
    provider: JobProvider, emulator: JobEmulator
) -> None:
    adapter, job = submitted(provider, emulator)
    emulator.faults.add("malformed", path=provider.poll_path)

    if provider.malformed_poll is None:
        assert [adapter.poll(job).done for _ in range(3)] == [False, False, True]
        return
    with pytest.raises(provider.malformed_poll) as caught:
        adapter.poll(job)
    assert caught.value.failover_safe is False


def test_a_revoked_key_while_polling_must_not_fail_over(
    provider: JobProvider, emulator: JobEmulator
) -> None:
    adapter, job = submitted(provider, emulator)
    emulator.faults.add("auth", path=provider.poll_path)

    with pytest.raises(AuthError) as caught:
        adapter.poll(job)

    assert caught.value.failover_safe is False  # the job exists and may be billed


# --- the job's own faults ------------------------------------------------------------------


def test_a_stuck_job_stays_queued(provider: JobProvider, emulator: JobEmulator) -> None:
    emulator.faults.add("stuck")
    adapter, job = submitted(provider, emulator)

    statuses = [adapter.poll(job) for _ in range(6)]

    status, progress = provider.queued
    assert {(poll.done, poll.provider_status, poll.progress) for poll in statuses} == {
        (False, status, progress)
    }


def test_a_job_that_fails_after_running_is_not_failover_safe(
    provider: JobProvider, emulator: JobEmulator
) -> None:
    emulator.faults.add("fail_after_run")
    adapter, job = submitted(provider, emulator)

    running = adapter.poll(job)
    with pytest.raises(Unavailable) as caught:
        adapter.poll(job)

    error = caught.value
    says, provider_code, http_status, names_the_job = provider.run_failure
    assert running.provider_status == provider.running
    assert error.failover_safe is False  # it ran: the provider may have billed it
    assert says in str(error)
    assert (error.provider_code, error.http_status) == (provider_code, http_status)
    assert (error.request_id == job.job_id) is names_the_job


def test_a_flaky_download_is_retried_once(provider: JobProvider, emulator: JobEmulator) -> None:
    emulator.faults.add("flaky_download")
    sleeps = Sleeps()

    outcomes = run_job(adapter_for(provider, emulator, sleeps=sleeps), make_request(max_images=2))

    assert [pixels(image) for image in images_of(outcomes)] == [(2048, 2048)] * 2
    assert sleeps == [0.5, 0.5]  # one pause before each second try


def test_expired_links_fail_each_image_not_the_job(
    provider: JobProvider, emulator: JobEmulator
) -> None:
    emulator.faults.add("expired_url")
    sleeps = Sleeps()

    outcomes = run_job(adapter_for(provider, emulator, sleeps=sleeps), make_request(max_images=2))

    failures = [outcome for outcome in outcomes if isinstance(outcome, ProviderImageFailure)]
    assert [(failure.index, failure.code) for failure in failures] == [
        (0, "bad_response"),
        (1, "bad_response"),
    ]
    assert sleeps == [0.5, 0.5]  # each link was tried twice
    usage = outcomes[-1]
    assert isinstance(usage, ProviderUsage)
    assert usage.generated_images == provider.billed_when_links_expire


# --- cancel --------------------------------------------------------------------------------


def test_canceling_a_finished_job_is_quiet(provider: JobProvider, emulator: JobEmulator) -> None:
    adapter, job = submitted(provider, emulator)
    assert adapter.poll(job).done is False
    assert adapter.poll(job).done

    adapter.cancel(job)  # nothing left to stop: no error

    assert emulator.jobs[job.job_id].phase == "succeeded"


# --- the blocking generate -----------------------------------------------------------------


def test_blocking_generate_pauses_with_the_adapters_sleep(provider: JobProvider) -> None:
    emulator = provider.emulator(ready_after_polls=2)
    sleeps = Sleeps()

    outcomes = list(
        adapter_for(provider, emulator, sleeps=sleeps).generate(make_request(max_images=2))
    )

    assert [image.index for image in images_of(outcomes)] == [0, 1]
    assert isinstance(outcomes[-1], ProviderUsage)
    assert sleeps == [0.5, 0.75]  # JobAdapter.generate's back-off, recorded, not slept


def test_blocking_generate_gives_up_on_a_stuck_job_at_its_deadline(
    provider: JobProvider, emulator: JobEmulator
) -> None:
    adapter = adapter_for(provider, emulator)
    adapter.blocking_deadline_s = 0.0  # type: ignore[misc]
    emulator.faults.add("stuck")

    with pytest.raises(ProviderTimeout) as caught:
        list(adapter.generate(make_request()))

    assert caught.value.failover_safe is False  # the job was taken
    (job,) = emulator.jobs.values()
    assert job.phase == ("canceled" if provider.cancels else "queued")


# --- over a loopback port ------------------------------------------------------------------


def test_over_a_loopback_port_a_group_comes_from_the_served_files(provider: JobProvider) -> None:
    emulator = provider.emulator()
    with emulator.serve() as base_url:
        adapter = adapter_for(provider, emulator, in_process=False)
        outcomes = list(adapter.generate(make_request(max_images=2)))

    images = images_of(outcomes)
    assert [image.index for image in images] == [0, 1]
    assert all((image.url or "").startswith(base_url) for image in images)
    assert all(pixels(image) == (2048, 2048) for image in images)


def test_timed_jobs_finish_concurrently_over_a_loopback_port(provider: JobProvider) -> None:
    emulator = provider.emulator(job_seconds=0.5)
    finished: list[bool] = []
    request = make_request(size="1K", width=1024, height=1024)
    with emulator.serve():
        adapter = adapter_for(provider, emulator, in_process=False)
        jobs = [adapter.submit(request) for _ in range(8)]
        early = [adapter.poll(job).provider_status for job in jobs]
        time.sleep(0.55)  # the last job is due by now

        def finish(job: ProviderJob) -> None:
            finished.append(adapter.poll(job).done)

        threads = [threading.Thread(target=finish, args=(job,)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert early == [provider.running] * 8
    assert finished == [True] * 8
    assert len(emulator.files) == 8
