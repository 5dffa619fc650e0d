"""Small helpers every adapter's tests use."""

import io
import random
from collections.abc import Sequence

import httpx
from PIL import Image

from generations.providers import ProviderImage, ProviderOutcome, ReferenceInput


class Sleeps(list[float]):
    """Stands in for `adapter.sleep`: remembers each pause instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


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
