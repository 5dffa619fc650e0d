"""Small helpers every adapter's tests use."""

import io
from collections.abc import Sequence

from PIL import Image

from generations.providers import ProviderImage, ProviderOutcome


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
