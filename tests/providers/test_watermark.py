"""`watermark` goes out explicitly to every provider that has the parameter, so no provider's
own default decides: Ark's and Ace's default is true (providers.md §1.3, Ace's page, seed 002),
Siraya's false (seed 004). The job providers Replicate, fal, Scenario and SinanCode document no
watermark input (§9.2): a request for one is refused there, never dropped."""

from typing import Any

import pytest

from generations.providers import (
    AccountConfig,
    BadRequest,
    ProviderRequest,
    build_adapter,
)
from generations.providers.acedata import AceDataAdapter
from generations.providers.ark import ArkAdapter
from generations.providers.siraya import SirayaAdapter

WITH_PARAMETER = ["ark", "byteplus", "acedata", "siraya"]
WITHOUT_PARAMETER = ["replicate", "fal", "scenario", "sinancode"]


def request(**overrides: Any) -> ProviderRequest:
    fields: dict[str, Any] = {
        "model": "seedream-4.0",
        "prompt": "a lantern on a jetty",
        "size": "2K",
        "aspect_ratio": "1:1",
        "width": 2048,
        "height": 2048,
    }
    return ProviderRequest(**(fields | overrides))


def adapter(kind: str, **options: Any) -> Any:
    key = "key:secret" if kind == "scenario" else "key"
    return build_adapter(AccountConfig(kind=kind, label=kind, api_key=key, options=options))


@pytest.mark.parametrize("kind", WITH_PARAMETER)
@pytest.mark.parametrize("asynchronous", [False, True])
def test_the_watermark_is_always_explicit(kind: str, asynchronous: bool) -> None:
    options = {"async": True} if asynchronous and kind == "acedata" else {}
    built = adapter(kind, **options)
    assert isinstance(built, ArkAdapter | AceDataAdapter | SirayaAdapter)

    assert built.request_body(request())["watermark"] is False
    assert built.request_body(request(watermark=True))["watermark"] is True
    assert adapter(kind, watermark=True, **options).request_body(request())["watermark"] is True


@pytest.mark.parametrize("kind", WITHOUT_PARAMETER)
def test_a_watermark_is_refused_where_there_is_no_parameter(kind: str) -> None:
    with pytest.raises(BadRequest, match="watermark"):
        adapter(kind).submit(request(watermark=True))
