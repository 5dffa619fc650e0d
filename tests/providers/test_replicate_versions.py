"""Replicate versions pinned per account: the create's form, the version's schema, refusals."""

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from generations.models import ProviderAccount
from generations.providers import (
    AccountConfig,
    BadRequest,
    ProviderError,
    ProviderUsage,
    ReferenceInput,
)
from generations.providers.replicate import prefer_wait_longest_s
from generations.providers.replicate.input import VERSION_SCHEMAS, input_schema, pinned_version
from generations.services.routing import account_config
from tests.emulators.replicate import VERSIONS, ReplicateEmulator, version_id
from tests.providers.support import PROMPT, images_of, make_request
from tests.providers.test_replicate import PNG_DATA_URI, PNG_REFERENCE, run

BETA_4_5 = version_id("fffbf9ea")  # 2K only, square only
EARLY_4_5 = version_id("e563f451")  # 2K/4K, no custom size
CURRENT_4_5 = version_id("9fe3b828")  # 2K/4K/custom
SEEDREAM_4 = version_id("cf7d4319")


@pytest.fixture
def emulator() -> ReplicateEmulator:
    return ReplicateEmulator()


def test_the_emulator_and_the_adapter_know_the_same_versions() -> None:
    assert {version[:8] for version in VERSIONS} == set(VERSION_SCHEMAS)


# --- the exact create --------------------------------------------------------------------

PINNED_GOLDEN: list[tuple[dict[str, Any], dict[str, Any], str, dict[str, Any]]] = [
    (  # 4.5 pinned to e563f451 at 4K 16:9
        {"model": "seedream-4.5", "size": "4K", "aspect_ratio": "16:9", "width": 5504,
         "height": 3040},
        {"versions": {"seedream-4.5": EARLY_4_5}},
        EARLY_4_5,
        {
            "prompt": PROMPT,
            "size": "4K",
            "aspect_ratio": "16:9",
            "sequential_image_generation": "disabled",
            "max_images": 1,
            "enhance_prompt": False,
        },
    ),
    (  # 4.0 pinned, 1K; a group of 2
        {"size": "1K", "width": 1024, "height": 1024, "max_images": 2},
        {"versions": {"seedream-4.0": SEEDREAM_4}},
        SEEDREAM_4,
        {
            "prompt": PROMPT,
            "size": "1K",
            "aspect_ratio": "1:1",
            "sequential_image_generation": "auto",
            "max_images": 2,
            "enhance_prompt": False,
        },
    ),
    (  # the 4.5 beta has no match_input_image: a reference without a shape goes out square
        {"model": "seedream-4.5", "aspect_ratio": "",
         "references": (ReferenceInput(content=PNG_REFERENCE, url=None, mime="image/png"),)},
        {"versions": {"seedream-4.5": BETA_4_5}},
        BETA_4_5,
        {
            "prompt": PROMPT,
            "size": "2K",
            "aspect_ratio": "1:1",
            "image_input": [PNG_DATA_URI],
            "sequential_image_generation": "disabled",
            "max_images": 1,
            "enhance_prompt": False,
        },
    ),
    (  # a version that takes custom sizes
        {"model": "seedream-4.5", "size": "3000x2000", "aspect_ratio": "", "width": 3000,
         "height": 2000},
        {"versions": {"seedream-4.5": CURRENT_4_5}},
        CURRENT_4_5,
        {
            "prompt": PROMPT,
            "size": "custom",
            "width": 3000,
            "height": 2000,
            "sequential_image_generation": "disabled",
            "max_images": 1,
            "enhance_prompt": False,
        },
    ),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "options", "version", "expected"), PINNED_GOLDEN)
def test_a_pinned_version_is_created_through_predictions_with_its_id(
    emulator: ReplicateEmulator,
    overrides: dict[str, Any],
    options: dict[str, Any],
    version: str,
    expected: dict[str, Any],
) -> None:
    # Recent jobs of 3 s: short enough for the default longest hold (5 s), held 1.5x as long.
    outcomes = run(emulator, make_request(**overrides, typical_job_s=3.0), **options)

    create = emulator.requests[0]
    assert (create.method, create.path) == ("POST", "/v1/predictions")
    assert create.headers["authorization"] == "Bearer test-key"
    assert create.headers["prefer"] == "wait=5"
    assert create.headers["content-type"] == "application/json"
    assert create.body == {"version": version, "input": expected}
    assert images_of(outcomes)  # the emulator, validating by that version's schema, took it
    usage = outcomes[-1]
    assert isinstance(usage, ProviderUsage)
    assert usage.raw["version"] == version


def test_only_the_pinned_catalog_model_uses_the_version(emulator: ReplicateEmulator) -> None:
    run(emulator, make_request(), versions={"seedream-4.5": EARLY_4_5})

    create = emulator.requests[0]
    assert create.path == "/v1/models/bytedance/seedream-4/predictions"
    assert create.body is not None
    assert "version" not in create.body


def test_without_prefer_wait_no_prefer_header_is_sent(emulator: ReplicateEmulator) -> None:
    request = make_request(typical_job_s=1.0)
    run(emulator, request, prefer_wait_s=0, versions={"seedream-4.0": SEEDREAM_4})

    assert "prefer" not in emulator.requests[0].headers


def test_an_unknown_version_takes_the_newest_schema_and_replicate_judges_it(
    emulator: ReplicateEmulator,
) -> None:
    unknown = version_id("0badc0de")
    request = make_request(
        model="seedream-4.5", size="3000x2000", aspect_ratio="", width=3000, height=2000
    )

    with pytest.raises(BadRequest) as caught:
        run(emulator, request, versions={"seedream-4.5": unknown})

    assert emulator.requests[0].body["version"] == unknown  # sent, not refused here
    assert caught.value.http_status == 422
    assert "Invalid version" in caught.value.message
    assert input_schema("seedream-4.5", unknown) == input_schema("seedream-4.5", "")


# --- what a pinned version lacks is refused before any call ------------------------------


@pytest.mark.parametrize(
    ("version", "overrides", "words"),
    [
        (EARLY_4_5, {"size": "3000x2000", "aspect_ratio": "", "width": 3000, "height": 2000},
         "takes only the sizes 2K, 4K; not 3000x2000"),
        (BETA_4_5, {"size": "4K", "width": 4096, "height": 4096}, "takes the sizes 2K; not 4K"),
        (BETA_4_5, {"aspect_ratio": "16:9", "width": 2848, "height": 1600},
         "takes the aspect ratios 1:1; not 16:9"),
    ],
)  # fmt: skip
def test_what_the_pinned_version_lacks_is_refused_naming_the_version_and_the_fix(
    emulator: ReplicateEmulator, version: str, overrides: dict[str, Any], words: str
) -> None:
    request = make_request(model="seedream-4.5", **overrides)

    with pytest.raises(BadRequest) as caught:
        run(emulator, request, versions={"seedream-4.5": version})

    error = caught.value
    assert words in error.message
    assert f"version {version[:8]}, which this account pins" in error.message
    assert "the account option versions" in error.message  # the fix
    assert error.failover_safe is True  # nothing sent; another account may take it
    assert emulator.requests == []


def test_the_same_request_goes_out_unpinned(emulator: ReplicateEmulator) -> None:
    request = make_request(
        model="seedream-4.5", size="3000x2000", aspect_ratio="", width=3000, height=2000
    )

    assert images_of(run(emulator, request))


def test_a_refusal_of_the_model_itself_may_fail_over(emulator: ReplicateEmulator) -> None:
    # Nothing was sent: another provider may serve the size (5.0 lite's 4K at Siraya, say).
    with pytest.raises(BadRequest) as caught:
        run(emulator, make_request(model="seedream-4.5", size="1K", width=1024, height=1024))

    assert caught.value.failover_safe is True
    assert emulator.requests == []
    assert "pins" not in caught.value.message


# --- account options ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"versions": ["seedream-4.5", EARLY_4_5]}, "must map catalog ids to version ids"),
        ({"versions": {"seedream-4.0": 7}}, "gives seedream-4.0 a int"),
        ({"prefer_wait_s": "soon"}, "prefer_wait_s must be seconds from 0 to 60"),
        ({"prefer_wait_s": True}, "prefer_wait_s must be seconds"),
    ],
)
def test_unreadable_options_are_refused_before_any_call(
    emulator: ReplicateEmulator, options: dict[str, Any], words: str
) -> None:
    with pytest.raises(ProviderError) as caught:
        run(emulator, make_request(), **options)

    assert type(caught.value) is BadRequest
    assert words in caught.value.message
    assert "fix it in the Replicate account's options" in caught.value.message
    assert caught.value.failover_safe is True
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("options", "read_timeout_s", "seconds"),
    [
        ({}, 120.0, 5),  # the default
        ({"prefer_wait_s": 0}, 120.0, 0),  # off
        ({"prefer_wait_s": 12.7}, 120.0, 12),
        ({"prefer_wait_s": 90}, 120.0, 60),  # clamped to Replicate's documented wait
        ({"prefer_wait_s": -3}, 120.0, 0),
        ({"prefer_wait_s": 30}, 10.0, 8),  # the held answer must beat the read timeout
        ({"prefer_wait_s": 5}, 1.5, 0),
    ],
)
def test_the_longest_hold_is_the_option_clamped(
    options: dict[str, Any], read_timeout_s: float, seconds: int
) -> None:
    account = AccountConfig(
        kind="replicate", label="R", read_timeout_s=read_timeout_s, options=options
    )

    assert prefer_wait_longest_s(account) == seconds


@pytest.mark.django_db
def test_provider_account_add_stores_the_replicate_options_the_adapter_reads() -> None:
    call_command(
        "provider_account",
        "add",
        "--kind=replicate",
        "--label=Replicate",
        "--models=seedream-4.0,seedream-4.5",
        "--option=prefer_wait_s=3",
        f'--option=versions={{"seedream-4.5": "{CURRENT_4_5}"}}',
        stdout=io.StringIO(),
        stdin=io.StringIO("r8_test_token\n"),
    )

    config = account_config(ProviderAccount.objects.get(label="Replicate"))
    assert config.options["prefer_wait_s"] == 3
    assert prefer_wait_longest_s(config) == 3
    assert pinned_version(config, "seedream-4.5") == CURRENT_4_5
    assert pinned_version(config, "seedream-4.0") == ""


def test_provider_account_add_refuses_an_option_without_a_value() -> None:
    with pytest.raises(CommandError, match="--option takes NAME=VALUE"):
        call_command(
            "provider_account",
            "add",
            "--kind=replicate",
            "--label=R",
            "--models=seedream-4.0",
            "--option=prefer_wait_s",
            stdout=io.StringIO(),
            stdin=io.StringIO("r8_test_token\n"),
        )
