"""When a submitted job is polled: at a fifth of its age, and first near its account's typical
job time (exactly after it where the provider reports its jobs' run times)."""

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from generations.models import Generation, ProviderAccount, ProviderAttempt
from generations.services.poll_schedule import (
    TypicalJob,
    first_poll_delay_s,
    poll_delay_s,
    typical_job,
)
from tests.factories import GenerationFactory, ProviderAccountFactory, ProviderAttemptFactory

pytestmark = pytest.mark.django_db


def attempt(
    account: ProviderAccount,
    generation: Generation,
    *,
    seconds: float,
    provider_seconds: float | None = None,
    outcome: str = ProviderAttempt.Outcome.SUCCEEDED,
    ago: timedelta = timedelta(minutes=1),
) -> None:
    ProviderAttemptFactory(
        generation=generation,
        account=account,
        outcome=outcome,
        latency_ms=int(seconds * 1000),
        job_ms=None if provider_seconds is None else int(provider_seconds * 1000),
        finished_at=timezone.now() - ago,
    )


@pytest.fixture
def generation(user) -> Generation:
    return GenerationFactory(owner=user, prompt="earlier")


def test_polls_come_at_a_fifth_of_the_age_within_the_bounds() -> None:
    assert poll_delay_s(elapsed_s=0) == settings.PROVIDER_POLL_FIRST_S
    assert poll_delay_s(elapsed_s=20) == pytest.approx(4.0)
    assert poll_delay_s(elapsed_s=500) == settings.PROVIDER_POLL_MAX_S


def test_the_typical_job_time_is_the_median_of_recent_successes_of_that_account(
    local_account: ProviderAccount, generation: Generation
) -> None:
    other = ProviderAccountFactory(label="other", models_served=[])
    for seconds in (8, 10, 30):
        attempt(local_account, generation, seconds=seconds)
    attempt(local_account, generation, seconds=90, outcome=ProviderAttempt.Outcome.FAILED)
    attempt(local_account, generation, seconds=90, ago=timedelta(hours=2))
    attempt(other, generation, seconds=90)

    assert typical_job(account_id=local_account.pk) == TypicalJob(seconds=10.0, exact=False)
    assert typical_job(account_id=ProviderAccountFactory(label="new").pk) is None


def test_the_typical_time_is_the_providers_own_where_it_reported_every_recent_job(
    local_account: ProviderAccount, generation: Generation
) -> None:
    # Our clock counts the polls' spacing and the download; the provider's counts the job.
    for seconds, provider_seconds in ((11.4, 10.0), (12.1, 10.2), (11.0, 9.9)):
        attempt(local_account, generation, seconds=seconds, provider_seconds=provider_seconds)
    assert typical_job(account_id=local_account.pk) == TypicalJob(seconds=10.0, exact=True)

    # One recent job without the provider's figure: the history is ours again, all of it.
    attempt(local_account, generation, seconds=13.0)
    cache.clear()  # the figure is kept for TYPICAL_CACHE_S
    assert typical_job(account_id=local_account.pk) == TypicalJob(seconds=11.75, exact=False)


def test_a_burst_of_submits_reads_the_history_once_per_account(
    local_account: ProviderAccount, generation: Generation, django_assert_num_queries: Any
) -> None:
    other = ProviderAccountFactory(label="other", models_served=[])
    attempt(local_account, generation, seconds=10.0, provider_seconds=9.0)
    with django_assert_num_queries(2):
        for _ in range(50):
            assert typical_job(account_id=local_account.pk) == TypicalJob(seconds=9.0, exact=True)
            assert typical_job(account_id=other.pk) is None


def test_the_first_poll_waits_for_most_of_our_own_typical_time() -> None:
    ours = TypicalJob(seconds=10.0, exact=False)
    assert first_poll_delay_s(typical=None) == settings.PROVIDER_POLL_FIRST_S
    assert first_poll_delay_s(typical=ours) == pytest.approx(8.0)
    # A submit held open 3 s already used some of the wait ...
    assert first_poll_delay_s(typical=ours, elapsed_s=3.0) == pytest.approx(5.0)
    # ... and a typical time shorter than the usual delay never makes polls more frequent.
    assert (
        first_poll_delay_s(typical=TypicalJob(seconds=0.5, exact=False))
        == settings.PROVIDER_POLL_FIRST_S
    )


def test_the_first_poll_comes_just_after_the_providers_own_typical_time() -> None:
    exact = TypicalJob(seconds=10.0, exact=True)
    # Counted from the submit's answer: the job began before it, so never early.
    assert first_poll_delay_s(typical=exact) == pytest.approx(10.1)
    assert first_poll_delay_s(typical=exact, elapsed_s=0.4) == pytest.approx(10.1)
    assert first_poll_delay_s(typical=TypicalJob(seconds=60.0, exact=True)) == pytest.approx(60.6)
    # A submit held open past the typical time (`Prefer: wait`): the job is late, poll soon.
    assert first_poll_delay_s(typical=exact, elapsed_s=15.0) == pytest.approx(3.0)
    # The floor of PROVIDER_POLL_FIRST_S still holds.
    assert (
        first_poll_delay_s(typical=TypicalJob(seconds=0.2, exact=True))
        == settings.PROVIDER_POLL_FIRST_S
    )


def test_while_a_job_is_due_polls_come_every_tenth_of_the_typical_time() -> None:
    assert poll_delay_s(elapsed_s=9.6, typical_job_s=12.0) == pytest.approx(1.2)  # not 1.92
    assert poll_delay_s(elapsed_s=30.0, typical_job_s=12.0) == pytest.approx(6.0)  # overdue
    assert poll_delay_s(elapsed_s=4.0, typical_job_s=3.0) == settings.PROVIDER_POLL_FIRST_S
