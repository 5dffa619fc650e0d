"""One contract every provider adapter keeps, each through its own emulator.

The same logical call (Seedream 4.0, 2K) and the same faults, for every provider: success, a
group, a partial group, a content refusal, a refused key, a rate limit with Retry-After, a
server error, a timeout before the provider took the call and one after, a malformed reply, a
failed download and, for job providers, cancel. What a provider does differently is in its own
test module; what every caller of an adapter relies on is here.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from generations.providers import (
    AccountConfig,
    AuthError,
    BadResponse,
    ContentRefused,
    JobAdapter,
    ProviderAdapter,
    ProviderError,
    ProviderImage,
    ProviderImageFailure,
    ProviderRequest,
    ProviderTimeout,
    ProviderUsage,
    RateLimited,
    Unavailable,
    build_adapter,
)
from generations.providers.calls import CallAdapter, call_outcomes
from tests.emulators.acedata import AceDataEmulator
from tests.emulators.ark import ArkEmulator
from tests.emulators.base import Emulator
from tests.emulators.fal import FalEmulator
from tests.emulators.replicate import ReplicateEmulator
from tests.emulators.scenario import ScenarioEmulator
from tests.emulators.sinancode import SinanCodeEmulator
from tests.emulators.siraya import SirayaEmulator
from tests.providers.support import Sleeps, images_of, pixels
from tests.providers.support import make_request as standard_request


@dataclass(frozen=True)
class Provider:
    kind: str
    emulator: Callable[[], Emulator]
    base_url: Callable[[Any], str]
    model: str = "seedream-4.0"
    options: tuple[tuple[str, Any], ...] = ()
    api_key: str = "test-key"
    group: bool = True  # makes a group of images in one call
    cancels: bool = True  # a job provider with a documented cancel
    # The code of the image a partial group fails: content_refused where the provider says the
    # image was refused, else the generic provider_error.
    partial_failure: str = "provider_error"
    # generated_images when the one image's link is gone: what the provider bills regardless.
    billed_when_links_expire: int = 1
    mode: str = ""  # names a second row for a provider with two modes

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.mode}" if self.mode else self.kind


PROVIDERS = [
    Provider(
        "ark",
        ArkEmulator,
        lambda emulator: emulator.base_url + "/api/v3",
        partial_failure="content_refused",
    ),
    Provider(
        "byteplus",
        lambda: ArkEmulator(flavour="byteplus"),
        lambda emulator: emulator.base_url + "/api/v3",
        partial_failure="content_refused",
    ),
    Provider("replicate", ReplicateEmulator, lambda emulator: emulator.base_url + "/v1"),
    Provider("fal", FalEmulator, lambda emulator: emulator.base_url),
    # Scenario's credential is its key and secret joined by ":".
    Provider(
        "scenario",
        ScenarioEmulator,
        lambda emulator: emulator.api_url,
        api_key="test-key:test-secret",
        billed_when_links_expire=0,
    ),
    # Ace Data Cloud: sync answers in the response; async is a job, which Ace documents no
    # way to stop. Ace relays Ark's per-image refusals.
    Provider(
        "acedata",
        AceDataEmulator,
        lambda emulator: emulator.base_url,
        partial_failure="content_refused",
    ),
    Provider(
        "acedata",
        AceDataEmulator,
        lambda emulator: emulator.base_url,
        options=(("async", True),),
        cancels=False,
        partial_failure="content_refused",
        mode="async",
    ),
    # SinanCode documents no way to stop a task (providers.md §5).
    Provider(
        "sinancode",
        SinanCodeEmulator,
        lambda emulator: emulator.api_url,
        cancels=False,
        billed_when_links_expire=0,
    ),
    # Siraya has no group generation; links (not inline bytes) to exercise downloads.
    Provider(
        "siraya",
        SirayaEmulator,
        lambda emulator: emulator.base_url,
        options=(("response_format", "url"),),
        group=False,
    ),
]
JOBS = {"replicate", "fal", "scenario", "sinancode", "acedata-async"}


@pytest.fixture(params=PROVIDERS, ids=[provider.name for provider in PROVIDERS])
def provider(request: pytest.FixtureRequest) -> Provider:
    return request.param


@pytest.fixture
def emulator(provider: Provider) -> Emulator:
    return provider.emulator()


def make_adapter(
    provider: Provider, emulator: Emulator, *, transport: httpx.BaseTransport | None = None
) -> ProviderAdapter:
    account = AccountConfig(
        kind=provider.kind,
        label=f"{provider.name} (contract)",
        base_url=provider.base_url(emulator),
        api_key=provider.api_key,
        read_timeout_s=2.0,
        options=dict(provider.options),
    )
    adapter = build_adapter(account, transport=transport or emulator.transport())
    # Job adapters poll with pauses; recorded, never slept.
    adapter.sleep = Sleeps()  # type: ignore[attr-defined]
    return adapter


def make_request(provider: Provider, **overrides: Any) -> ProviderRequest:
    return standard_request(**{"model": provider.model, **overrides})


def generate(provider: Provider, emulator: Emulator, **overrides: Any) -> list[Any]:
    return list(make_adapter(provider, emulator).generate(make_request(provider, **overrides)))


def failure(provider: Provider, emulator: Emulator, **overrides: Any) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        generate(provider, emulator, **overrides)
    return caught.value


def test_success_delivers_a_readable_image_then_usage(provider, emulator):
    outcomes = generate(provider, emulator)
    images = images_of(outcomes)
    assert [image.index for image in images] == [0]
    assert pixels(images[0]) == (images[0].width, images[0].height)
    assert isinstance(outcomes[-1], ProviderUsage)
    assert outcomes[-1].generated_images == 1


def needs_groups(provider: Provider) -> None:
    if not provider.group:
        pytest.skip(f"{provider.kind} makes one image per call")


def test_a_group_delivers_every_image_in_order(provider, emulator):
    needs_groups(provider)
    outcomes = generate(provider, emulator, max_images=3)
    images = images_of(outcomes)
    assert [image.index for image in images] == [0, 1, 2]
    assert len({image.content for image in images}) == 3  # three images, not one thrice
    assert isinstance(outcomes[-1], ProviderUsage)
    assert outcomes[-1].generated_images == 3


def test_a_partial_group_keeps_the_images_and_names_the_failure(provider, emulator):
    needs_groups(provider)
    emulator.faults.add("partial")
    outcomes = generate(provider, emulator, max_images=3)
    # The emulators fail the last image of a group; outcomes come in the group's order.
    assert [(type(outcome), getattr(outcome, "index", None)) for outcome in outcomes] == [
        (ProviderImage, 0),
        (ProviderImage, 1),
        (ProviderImageFailure, 2),
        (ProviderUsage, None),
    ]
    assert outcomes[2].code == provider.partial_failure
    assert outcomes[-1].generated_images == 2  # billed for what was delivered


def test_a_content_refusal_is_content_refused(provider, emulator):
    emulator.faults.add("refuse")
    error = failure(provider, emulator)
    assert type(error) is ContentRefused
    assert not error.failover_safe  # another account would refuse it too
    assert error.user_message


def test_a_refused_key_is_an_auth_error(provider, emulator):
    emulator.faults.add("auth")
    error = failure(provider, emulator)
    assert type(error) is AuthError
    assert error.failover_safe  # refused before any work: another account may serve
    assert "test-key" not in str(error)


def test_a_rate_limit_carries_retry_after(provider, emulator):
    emulator.faults.add("rate_limit", seconds=7)
    error = failure(provider, emulator)
    assert type(error) is RateLimited
    assert error.retry_after == 7
    assert error.failover_safe


@pytest.mark.parametrize("fault", ["server_error", "unavailable"])
def test_a_server_error_before_acceptance_may_fail_over(provider, emulator, fault):
    emulator.faults.add(fault)
    error = failure(provider, emulator)
    assert type(error) is Unavailable
    assert error.failover_safe


def test_a_timeout_before_the_call_is_taken_may_fail_over(provider, emulator):
    def refuse_to_connect(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("connect timed out", request=request)

    adapter = make_adapter(provider, emulator, transport=httpx.MockTransport(refuse_to_connect))
    with pytest.raises(ProviderTimeout) as caught:
        list(adapter.generate(make_request(provider)))
    assert caught.value.failover_safe


def test_a_timeout_after_the_call_was_sent_does_not_fail_over(provider, emulator):
    def never_answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    adapter = make_adapter(provider, emulator, transport=httpx.MockTransport(never_answer))
    with pytest.raises(ProviderTimeout) as caught:
        list(adapter.generate(make_request(provider)))
    # The provider may have taken (and billed) the call: a second account would bill again.
    assert not caught.value.failover_safe


def test_a_connection_dropped_after_sending_does_not_fail_over(provider, emulator):
    emulator.faults.add("drop")
    error = failure(provider, emulator)
    assert type(error) is Unavailable
    assert not error.failover_safe  # the provider may have taken (and billed) the call


def test_a_malformed_reply_is_a_bad_response(provider, emulator):
    emulator.faults.add("malformed")
    error = failure(provider, emulator)
    assert type(error) is BadResponse
    assert not error.failover_safe  # the provider answered: it may have taken the call


def test_a_failed_download_fails_the_image_not_the_call(provider, emulator):
    emulator.faults.add("expired_url")
    outcomes = generate(provider, emulator)
    assert not images_of(outcomes)
    failed = [outcome for outcome in outcomes if isinstance(outcome, ProviderImageFailure)]
    assert [(outcome.index, outcome.code) for outcome in failed] == [(0, BadResponse.code)]
    assert isinstance(outcomes[-1], ProviderUsage)  # the call itself ended well
    assert outcomes[-1].generated_images == provider.billed_when_links_expire


def test_latency_only_delays(provider, emulator):
    emulator.faults.add("latency", seconds=0.01)
    outcomes = generate(provider, emulator)
    assert [image.index for image in images_of(outcomes)] == [0]
    assert isinstance(outcomes[-1], ProviderUsage)


def test_every_job_provider_is_a_job_adapter_and_no_other_is(provider, emulator):
    assert isinstance(make_adapter(provider, emulator), JobAdapter) is (provider.name in JOBS)


def test_cancel_reaches_the_provider(provider, emulator):
    if provider.name not in JOBS:
        pytest.skip(f"{provider.name} answers in the response: there is no job to cancel")
    if not provider.cancels:
        pytest.skip(f"{provider.name} documents no cancel")
    emulator.faults.add("stuck")
    adapter = make_adapter(provider, emulator)
    assert isinstance(adapter, JobAdapter)
    job = adapter.submit(make_request(provider))
    adapter.cancel(job)
    with pytest.raises(ProviderError, match="canceled"):
        adapter.poll(job)


def test_cancel_without_a_documented_one_asks_nothing_and_leaves_the_job_pollable(
    provider, emulator
):
    # The caller's deadline ends such a job's attempt; the cancel itself must neither fail nor
    # send the provider a request it does not document.
    if provider.name not in JOBS or provider.cancels:
        pytest.skip(f"{provider.name} has no job, or a documented cancel")
    adapter = make_adapter(provider, emulator)
    assert isinstance(adapter, JobAdapter)
    job = adapter.submit(make_request(provider))
    sent = len(emulator.requests)

    adapter.cancel(job)

    assert len(emulator.requests) == sent
    assert adapter.poll(job).provider_status


def test_every_outcome_is_of_the_contract(provider, emulator):
    for outcome in generate(provider, emulator, max_images=2 if provider.group else 1):
        assert isinstance(outcome, ProviderImage | ProviderImageFailure | ProviderUsage)


def test_a_call_on_the_event_loop_gives_what_the_blocking_call_gives(provider, emulator):
    """Providers that answer in the response run on the worker's event loop
    (`calls.call_outcomes`) and, outside a worker, over a blocking client: the same outcomes."""
    adapter = make_adapter(provider, emulator)
    if not isinstance(adapter, CallAdapter):
        pytest.skip(f"{provider.name} is a job provider: submitted and polled, not awaited")

    async def on_the_loop() -> list[Any]:
        return [outcome async for outcome in call_outcomes(adapter, make_request(provider))]

    def shape(outcomes: list[Any]) -> list[tuple[str, int | None]]:
        return [(type(outcome).__name__, getattr(outcome, "index", None)) for outcome in outcomes]

    looped = asyncio.run(on_the_loop())
    assert shape(looped) == shape(generate(provider, emulator))
    assert pixels(images_of(looped)[0]) == (images_of(looped)[0].width, images_of(looped)[0].height)
