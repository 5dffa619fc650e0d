"""Routing reads the enabled provider accounts at most once per PROVIDER_ROUTING_CACHE_S in a
process: a burst of generations shares one read, a change made in the process is seen at once,
and one made elsewhere (no signal reaches this process) within the window."""

import pytest
from django.utils import timezone

from generations.models import ProviderAccount
from generations.providers import Unavailable
from generations.services import routing
from generations.services.provider_accounts import (
    provider_account_record_outcome,
    provider_account_set_enabled,
)
from generations.services.routing import accounts_for_model
from tests.factories import ProviderAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached(settings, monkeypatch):
    """The cache on, with a clock the test moves."""
    settings.PROVIDER_ROUTING_CACHE_S = 1.0
    clock = [1000.0]
    monkeypatch.setattr(routing.time, "monotonic", lambda: clock[0])
    routing.routing_forget()
    yield clock
    routing.routing_forget()


def add(label: str, priority: int) -> ProviderAccount:
    return ProviderAccountFactory(label=label, priority=priority)


def test_a_burst_of_routings_reads_the_accounts_once(cached, django_assert_num_queries):
    first, second = add("first", 1), add("second", 2)
    routing.routing_forget()
    with django_assert_num_queries(1):
        for _ in range(50):
            assert accounts_for_model(model_id="seedream-4.0") == [first, second]


def test_a_change_made_elsewhere_is_seen_once_the_window_has_passed(cached):
    first, second = add("first", 1), add("second", 2)
    assert accounts_for_model(model_id="seedream-4.0") == [first, second]
    # Another process (the admin, another worker) disables the first: no signal reaches here.
    ProviderAccount.objects.filter(pk=first.pk).update(enabled=False)
    cached[0] += 0.5
    assert accounts_for_model(model_id="seedream-4.0") == [first, second]
    cached[0] += 0.6
    assert accounts_for_model(model_id="seedream-4.0") == [second]


def test_a_change_made_here_is_seen_at_once(cached, django_capture_on_commit_callbacks):
    first, second = add("first", 1), add("second", 2)
    assert accounts_for_model(model_id="seedream-4.0") == [first, second]
    with django_capture_on_commit_callbacks(execute=True):
        provider_account_set_enabled(account=first, enabled=False, actor=None, reason="test")
    assert accounts_for_model(model_id="seedream-4.0") == [second]
    with django_capture_on_commit_callbacks(execute=True):
        third = add("third", 0)
    assert accounts_for_model(model_id="seedream-4.0") == [third, second]


def test_a_recorded_failure_reorders_at_once_and_a_recovery_too(cached):
    first, second = add("first", 1), add("second", 2)
    assert accounts_for_model(model_id="seedream-4.0") == [first, second]
    provider_account_record_outcome(
        account=first, error=Unavailable(message="503", before_accepted=True)
    )
    assert accounts_for_model(model_id="seedream-4.0") == [second, first]
    # A success recorded on another copy of the row (a job's poll reads its own) counts too.
    provider_account_record_outcome(account=ProviderAccount.objects.get(pk=first.pk), error=None)
    assert accounts_for_model(model_id="seedream-4.0") == [first, second]
    assert ProviderAccount.objects.get(pk=first.pk).last_success_at <= timezone.now()
