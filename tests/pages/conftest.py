"""Finished generations with real image files, made by factories without a worker and without
ledger entries (``through_ledger=False``), for page tests that need many of them quickly."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from accounts.models import User
from generations.models import Generation, ProviderAttempt
from tests.conftest import funded_user
from tests.factories import GenerationFactory, OutputImageFactory, ProviderAttemptFactory

PRICE_PER_IMAGE = 30


def jpeg_bytes(
    width: int = 96, height: int = 72, color: tuple[int, int, int] = (30, 90, 160)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG")
    return buffer.getvalue()


def make_generation(
    owner: User,
    *,
    prompt: str = "a red fox in snow",
    model: str = "seedream-4.0",
    images: int = 2,
    status: str = Generation.Status.SUCCEEDED,
    visibility: str = Generation.Visibility.PRIVATE,
    created_days_ago: int = 0,
    width: int = 1024,
    height: int = 1024,
    served_by: str = "",
) -> Generation:
    """``served_by``: a provider kind ("ark", "local" for the demo renderer) recorded as one
    call that returned the delivered images; empty records no call."""
    delivered = images if status == Generation.Status.SUCCEEDED else 0
    terminal = status in Generation.TERMINAL_STATUSES
    generation = GenerationFactory(
        owner=owner,
        model=model,
        prompt=prompt,
        params={"size": "1K", "aspect_ratio": "1:1", "width": width, "height": height},
        num_images=images,
        status=status,
        visibility=visibility,
        price_per_image=PRICE_PER_IMAGE,
        credits_held=PRICE_PER_IMAGE * images,
        credits_charged=PRICE_PER_IMAGE * delivered if terminal else 0,
        finished_at=timezone.now() if terminal else None,
        error_message="The image provider is busy right now." if status == "failed" else "",
        through_ledger=False,
        **(
            {"created_at": timezone.now() - timedelta(days=created_days_ago)}
            if created_days_ago
            else {}
        ),
    )
    for index in range(delivered):
        OutputImageFactory(
            generation=generation,
            index=index,
            file=f"outputs/{generation.pk}-{index}.jpg",
            content=jpeg_bytes(color=(30 + index * 40, 90, 160)),
            sha256=f"{index:064d}",
            width=96,
            height=72,
            format="jpeg",
        )
    if served_by:
        ProviderAttemptFactory(
            generation=generation,
            account=None,
            provider_kind=served_by,
            outcome=ProviderAttempt.Outcome.SUCCEEDED
            if delivered
            else ProviderAttempt.Outcome.FAILED,
            images_returned=delivered,
        )
    generation.refresh_from_db()
    return generation


@pytest.fixture
def staff_user(db):
    return funded_user(0, is_staff=True)
