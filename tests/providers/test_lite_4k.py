"""Seedream 5.0 Lite at 4K: Siraya serves it (seed 004: "Seedream 5.0 Lite 2K, 3K, 4K") and Ace
lists the 4K preset (seed 002); the official Ark page lists 2K/3K only (providers.md §1.4), as
do Replicate and SinanCode. Providers without it refuse before any call, failover-safe, so a
generation reaches an account that serves it."""

from typing import Any

import pytest

from generations.catalog import GenerationSpec
from generations.providers import AccountConfig, BadRequest, ProviderRequest, build_adapter
from generations.providers.siraya import SirayaAdapter
from tests.emulators.siraya import SirayaEmulator
from tests.providers.support import catalog_request, images_of, make_adapter


def lite_4k(aspect_ratio: str = "1:1") -> ProviderRequest:
    return catalog_request(
        GenerationSpec(
            model="seedream-5.0-lite", prompt="a harbour", size="4K", aspect_ratio=aspect_ratio
        )
    )


def test_siraya_makes_a_5_0_lite_4k_image() -> None:
    emulator = SirayaEmulator()
    adapter = make_adapter(SirayaAdapter, emulator)

    outcomes = list(adapter.generate(lite_4k("16:9")))

    assert emulator.requests[0].body["size"] == "5504x3040"
    assert [(image.width, image.height) for image in images_of(outcomes)] == [(5504, 3040)]


@pytest.mark.parametrize(
    ("kind", "aspect_ratio"),
    [
        ("ark", "1:1"),
        ("byteplus", "1:1"),
        ("replicate", "1:1"),
        ("sinancode", "1:1"),
        ("scenario", "16:9"),  # 5504 wide: past Scenario's 4704 (seed 000)
        ("acedata", "16:9"),  # Ace's 4K is a keyword; a WxH that size passes Ark's range
    ],
)
def test_providers_without_it_refuse_before_any_call_and_may_fail_over(
    kind: str, aspect_ratio: str
) -> None:
    key = "key:secret" if kind == "scenario" else "key"
    adapter: Any = build_adapter(AccountConfig(kind=kind, label=kind, api_key=key))
    call = adapter.submit if hasattr(adapter, "submit") else adapter.request_body

    with pytest.raises(BadRequest) as caught:
        call(lite_4k(aspect_ratio))

    assert caught.value.failover_safe is True
    assert "4K" in caught.value.message or "width" in caught.value.message


def test_ace_sends_the_4k_keyword_for_a_square() -> None:
    adapter: Any = build_adapter(AccountConfig(kind="acedata", label="Ace", api_key="key"))

    assert adapter.request_body(lite_4k())["size"] == "4K"
