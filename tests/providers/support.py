"""What every adapter's tests use: the adapter on its emulator, the standard request, a job run
to its end, and small readers of outcomes."""

import io
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypeVar

import httpx
import pytest
from PIL import Image

from generations.catalog import GenerationSpec, validate_spec
from generations.providers import (
    AccountConfig,
    BadRequest,
    BaseAdapter,
    JobAdapter,
    ProviderError,
    ProviderImage,
    ProviderOutcome,
    ProviderRequest,
    ReferenceInput,
    build_adapter,
)
from tests.emulators.base import Emulator

AdapterClass = TypeVar("AdapterClass", bound=BaseAdapter)
PROMPT = "a paper boat on a rainy street"


class Sleeps(list[float]):
    """Stands in for `adapter.sleep`: remembers each pause instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_adapter(
    adapter_class: type[AdapterClass],
    emulator: Emulator,
    *,
    api_key: str = "test-key",
    read_timeout_s: float | None = None,
    sleeps: "Sleeps | None" = None,
    transport: httpx.BaseTransport | None = None,
    in_process: bool = True,
    **options: Any,
) -> AdapterClass:
    """An `adapter_class` adapter for an account on `emulator`: in-process unless another
    `transport` is given, or over the socket the emulator serves on with `in_process=False`.
    A job adapter's pauses go to `sleeps` (or a fresh `Sleeps`): recorded, never slept."""
    account = AccountConfig(
        kind=adapter_class.kind,
        label=f"{adapter_class.kind} (test)",
        base_url=emulator.api_url,
        api_key=api_key,
        options=options,
    )
    if read_timeout_s is not None:  # else the account's default
        account = replace(account, read_timeout_s=read_timeout_s)
    if in_process and transport is None:
        transport = emulator.transport()
    adapter = build_adapter(account, transport=transport)
    assert isinstance(adapter, adapter_class)
    if isinstance(adapter, JobAdapter):
        # Job adapters make `sleep` an attribute so that tests can record it.
        adapter.sleep = sleeps if sleeps is not None else Sleeps()  # type: ignore[method-assign]
    return adapter


def make_request(**overrides: Any) -> ProviderRequest:
    """Seedream 4.0 at 2K, square, unless `overrides` say otherwise."""
    fields: dict[str, Any] = {
        "model": "seedream-4.0",
        "prompt": PROMPT,
        "size": "2K",
        "aspect_ratio": "1:1",
        "width": 2048,
        "height": 2048,
    }
    fields.update(overrides)
    return ProviderRequest(**fields)


def catalog_request(spec: GenerationSpec, **overrides: Any) -> ProviderRequest:
    """The provider request a generation of `spec` sends, resolved by the catalog as a
    generation is (`overrides` add what the spec does not carry, such as references)."""
    resolved = validate_spec(spec)
    return ProviderRequest(
        model=resolved.model,
        prompt=resolved.prompt,
        size=resolved.size,
        aspect_ratio=resolved.aspect_ratio,
        width=resolved.width,
        height=resolved.height,
        **overrides,
    )


def run_job(
    adapter: JobAdapter, request: ProviderRequest, *, polls: int = 5
) -> tuple[ProviderOutcome, ...]:
    """Submit, then poll (without pausing) until done: a few polls at most."""
    job = adapter.submit(request)
    for _ in range(polls):
        status = adapter.poll(job)
        if status.done:
            return status.outcomes
    raise AssertionError(f"the job was not done after {polls} polls")


def generate_on(
    adapter_class: type[BaseAdapter], emulator: Emulator, request: ProviderRequest, **account: Any
) -> list[ProviderOutcome]:
    """Everything the blocking `generate` yields, on a fresh adapter (`account` as for
    `make_adapter`)."""
    return list(make_adapter(adapter_class, emulator, **account).generate(request))


def failure_on(
    adapter_class: type[BaseAdapter], emulator: Emulator, request: ProviderRequest, **account: Any
) -> ProviderError:
    """The error the blocking `generate` raises on a fresh adapter (it must raise one)."""
    with pytest.raises(ProviderError) as caught:
        generate_on(adapter_class, emulator, request, **account)
    return caught.value


def refusal_before_any_call(
    adapter_class: type[BaseAdapter], emulator: Emulator, request: ProviderRequest, **account: Any
) -> BadRequest:
    """The BadRequest `generate` raises for what the provider cannot do, having sent nothing."""
    error = failure_on(adapter_class, emulator, request, **account)
    assert type(error) is BadRequest
    assert emulator.requests == []
    return error


def posted_bodies(emulator: Emulator, path_part: str = "") -> list[Any]:
    """The bodies of the POSTs the emulator received (to paths containing `path_part`)."""
    return [
        call.body for call in emulator.requests if call.method == "POST" and path_part in call.path
    ]


def images_of(outcomes: Sequence[ProviderOutcome]) -> list[ProviderImage]:
    return [outcome for outcome in outcomes if isinstance(outcome, ProviderImage)]


def pixels(image: ProviderImage) -> tuple[int, int]:
    """The size read from the image's own bytes."""
    assert image.content is not None
    return Image.open(io.BytesIO(image.content)).size


class StoredReferences:
    """Our storage as a provider sees it: signed links serving stored reference images.

    `transport()` goes to an emulator's `reference_transport`, so the emulator fetches each
    link as the real provider would; a link not stored here answers 403, as an expired or
    tampered signed link does.
    """

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}

    def reference(self, content: bytes, *, mime: str = "image/png") -> ReferenceInput:
        """A stored reference: its bytes and a signed link to them (as `provider_request`)."""
        link = f"https://studio.example/media/r/{len(self.files) + 1}?exp=1999999999&sig=test"
        self.files[link] = (content, mime)
        return ReferenceInput(content=content, url=None, mime=mime, link=link)

    def transport(self) -> httpx.BaseTransport:
        def serve(request: httpx.Request) -> httpx.Response:
            stored = self.files.get(str(request.url))
            if stored is None:
                return httpx.Response(403, text="This link is not valid.")
            content, mime = stored
            return httpx.Response(200, content=content, headers={"Content-Type": mime})

        return httpx.MockTransport(serve)


def noisy_png(*, at_least_bytes: int, seed: int = 0) -> bytes:
    """A real PNG of random pixels (which do not compress) of at least `at_least_bytes`."""
    side = int((at_least_bytes / 3) ** 0.5) + 16
    pixels_bytes = random.Random(seed).randbytes(side * side * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels_bytes).save(buffer, format="PNG", compress_level=1)
    content = buffer.getvalue()
    assert len(content) >= at_least_bytes
    return content
