"""What the SDK tests share: the one logical call, our adapter's side of it, and the golden check.

Each module of this folder points a provider's official SDK at our emulator on a loopback port
and makes the same logical call: Seedream 4.0, 2K, 2 images, one PNG reference, seed 42,
watermark off (less what a provider does not offer; each module says what it leaves out and
why). The emulator records every request it is sent, so it is also the recorder of the golden
tests: the SDK's request and our adapter's, for the same call, are compared field by field.

Our side is driven only through the provider layer's public seam (`build_adapter` with an
`AccountConfig`, a `ProviderRequest`, then `generate` or `submit`), so these tests survive a
restructuring of the adapters' modules.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from generations.providers import (
    AccountConfig,
    BaseAdapter,
    ProviderRequest,
    ReferenceInput,
    build_adapter,
)
from tests.conftest import make_png
from tests.emulators.base import Emulator, RecordedRequest
from tests.providers.support import make_request

PROMPT = "a lighthouse on a cliff at dusk"
SEED = 42
IMAGES = 2
# The signed link to the reference in our storage that a stored reference carries (its bytes
# go inline where a provider documents that, the link where it takes URLs only).
REFERENCE_LINK = "https://studio.example/media/r/7?exp=1900000000&sig=reference-signature"


def reference_png() -> bytes:
    return make_png(64, 64)


def reference_data_uri() -> str:
    return f"data:image/png;base64,{base64.b64encode(reference_png()).decode('ascii')}"


def logical_request(**overrides: Any) -> ProviderRequest:
    """The logical call as our provider layer takes it."""
    reference = ReferenceInput(
        content=reference_png(), url=None, mime="image/png", link=REFERENCE_LINK
    )
    fields: dict[str, Any] = {
        "prompt": PROMPT,
        "max_images": IMAGES,
        "references": (reference,),
        "seed": SEED,
        "watermark": False,
    }
    return make_request(**{**fields, **overrides})


def our_adapter(kind: str, emulator: Emulator, *, base_url: str, **options: Any) -> BaseAdapter:
    """Our adapter of `kind` for an account on `emulator` (in-process transport, no socket)."""
    account = AccountConfig(
        kind=kind,
        label=f"{kind} (SDK comparison)",
        base_url=base_url,
        api_key=emulator.api_key,
        options=options,
    )
    adapter = build_adapter(account, transport=emulator.transport())
    adapter.sleep = lambda seconds: None  # type: ignore[attr-defined]
    return adapter


def only_request(emulator: Emulator, *, method: str, path_prefix: str) -> RecordedRequest:
    """The one request `emulator` recorded with this method whose path starts so."""
    (found,) = [
        recorded
        for recorded in emulator.requests
        if recorded.method == method and recorded.path.startswith(path_prefix)
    ]
    return found


def auth_scheme(recorded: RecordedRequest) -> str:
    """`Bearer`, `Token`, `Key`, `Basic`...: the form of the credentials, not their value."""
    return recorded.headers.get("authorization", "").partition(" ")[0]


def flattened(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted name, value) of every leaf of a JSON body; list items keep their index."""
    if isinstance(value, Mapping):
        for name, item in value.items():
            yield from flattened(item, f"{prefix}.{name}" if prefix else str(name))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from flattened(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


@dataclass(frozen=True)
class Difference:
    """A field where our request legitimately differs from the reference, and why."""

    field: str
    reason: str


def assert_same_call(
    reference: RecordedRequest,
    ours: RecordedRequest,
    *,
    headers: tuple[str, ...] = (),
    known: tuple[Difference, ...] = (),
) -> None:
    """Method, path, auth form, the named headers and every body field agree, except `known`.

    Each known difference must still differ: once an adapter is fixed, its entry fails here and
    has to be removed (an allow-list that cannot go stale).
    """
    assert (ours.method, ours.path) == (reference.method, reference.path)
    assert auth_scheme(ours) == auth_scheme(reference)
    for name in headers:
        assert ours.headers.get(name) == reference.headers.get(name), name
    expected = dict(flattened(reference.body))
    sent = dict(flattened(ours.body))
    allowed = {difference.field for difference in known}
    for field in allowed:
        assert expected.get(field, "<absent>") != sent.get(field, "<absent>"), (
            f"{field} now agrees with the reference: remove its known difference"
        )
    mismatches = {
        field: (expected.get(field, "<absent>"), sent.get(field, "<absent>"))
        for field in sorted(set(expected) | set(sent))
        if field not in allowed and expected.get(field, "<absent>") != sent.get(field, "<absent>")
    }
    assert mismatches == {}, f"(reference, ours) per field: {mismatches}"
