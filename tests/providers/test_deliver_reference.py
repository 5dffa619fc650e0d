"""`deliver_reference`: the one rule every adapter follows to put a reference on the wire."""

import base64

import pytest

from generations.providers import BadRequest, ReferenceInput
from generations.providers.wire import (
    ReferenceRoute,
    deliver_reference,
    reference_wire_value,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
LINK = "https://studio.example/media/r/1?exp=1999999999&sig=abc"
STORED = ReferenceInput(content=PNG, url=None, mime="image/PNG", link=LINK)
HOSTED = ReferenceInput(content=None, url="https://cdn.example/cat.png", mime="image/png")
DATA_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()
UPLOADED = f"uploaded:{len(PNG)}"


def uploaded(reference: ReferenceInput) -> str:
    return f"uploaded:{len(reference.content or b'')}"


@pytest.mark.parametrize(
    ("route", "reference", "expected"),
    [
        # URL-only providers (Siraya, SinanCode): the link, never the bytes.
        (ReferenceRoute("Siraya"), STORED, LINK),
        (ReferenceRoute("Siraya"), HOSTED, HOSTED.url),
        # Inline under the limit (Replicate under 1 MB), the provider's upload from it.
        (ReferenceRoute("Replicate", inline_below_bytes=1000, upload=uploaded), STORED, DATA_URI),
        (ReferenceRoute("Replicate", inline_below_bytes=50, upload=uploaded), STORED, UPLOADED),
        # Upload only (fal); a URL reference stays a URL where the provider takes URLs.
        (ReferenceRoute("fal", upload=uploaded), STORED, UPLOADED),
        (ReferenceRoute("fal", upload=uploaded), HOSTED, HOSTED.url),
        # Assets only (Scenario): even a URL reference is handed to the upload.
        (ReferenceRoute("Scenario", upload=uploaded, takes_urls=False), HOSTED, "uploaded:0"),
        # Inline where documented, the link beyond the limit.
        (ReferenceRoute("Ark", inline_below_bytes=50), STORED, LINK),
    ],
)
def test_each_route_delivers_as_documented(
    route: ReferenceRoute, reference: ReferenceInput, expected: str
) -> None:
    assert deliver_reference(reference, route) == expected


def test_ark_takes_stored_references_inline_up_to_10_mb() -> None:
    assert reference_wire_value(STORED) == DATA_URI
    large = ReferenceInput(content=b"x" * (10 * 1024 * 1024 + 1), url=None, mime="image/png")
    with pytest.raises(BadRequest, match="inline only under"):
        reference_wire_value(large)
    with_link = ReferenceInput(content=large.content, url=None, mime="image/png", link=LINK)
    assert reference_wire_value(with_link) == LINK


def test_a_url_only_provider_refuses_a_reference_without_a_link_before_any_call() -> None:
    bare = ReferenceInput(content=PNG, url=None, mime="image/png")

    with pytest.raises(BadRequest, match="only as links") as caught:
        deliver_reference(bare, ReferenceRoute("SinanCode"))

    assert caught.value.failover_safe


def test_links_only_is_what_the_account_check_asks_about() -> None:
    assert ReferenceRoute("Siraya").links_only
    assert not ReferenceRoute("Ark", inline_below_bytes=10).links_only
    assert not ReferenceRoute("fal", upload=uploaded).links_only
