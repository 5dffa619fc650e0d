"""Hand-built generations for usage tests: exact figures, through the real credit services."""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.models import ApiKey, User
from accounts.services.credits import credits_capture, credits_hold, credits_release
from generations.models import Generation, OutputImage, ProviderAccount, ProviderAttempt


def attempt_spec(
    account: ProviderAccount,
    *,
    outcome: str = "succeeded",
    images: int = 0,
    usage: dict[str, Any] | None = None,
    latency_ms: int = 1000,
    error_code: str = "",
    request_id: str = "",
) -> dict[str, Any]:
    return {
        "account": account,
        "outcome": outcome,
        "images": images,
        "usage": usage if usage is not None else {},
        "latency_ms": latency_ms,
        "error_code": error_code,
        "request_id": request_id,
    }


def make_generation(
    *,
    owner: User,
    model: str = "seedream-4.0",
    api_key: ApiKey | None = None,
    num_images: int = 1,
    delivered: int | None = None,
    price: int = 30,
    status: str = "succeeded",
    created_at: datetime | None = None,
    seconds: float = 10.0,
    attempts: list[dict[str, Any]] | None = None,
    prompt: str = "a lighthouse at dusk",
) -> Generation:
    """A terminal generation with its hold settled, outputs stored and attempts recorded."""
    created_at = created_at or timezone.now() - timedelta(hours=2)
    delivered = num_images if delivered is None and status == "succeeded" else (delivered or 0)
    generation = Generation.objects.create(
        owner=owner,
        api_key=api_key,
        model=model,
        prompt=prompt,
        num_images=num_images,
        price_per_image=price,
        credits_held=num_images * price,
        status="running",
    )
    started_at = created_at + timedelta(seconds=1)
    finished_at = started_at + timedelta(seconds=seconds)
    Generation.objects.filter(pk=generation.pk).update(
        created_at=created_at, started_at=started_at, finished_at=finished_at
    )
    generation.refresh_from_db()
    credits_hold(user=owner, amount=generation.credits_held, generation=generation)
    at = started_at
    for spec in attempts or []:
        attempt = ProviderAttempt.objects.create(
            generation=generation,
            account=spec["account"],
            provider_kind=spec["account"].kind,
            outcome=spec["outcome"],
            images_returned=spec["images"],
            usage=spec["usage"],
            latency_ms=spec["latency_ms"],
            error_code=spec["error_code"],
            provider_request_id=spec["request_id"],
        )
        ProviderAttempt.objects.filter(pk=attempt.pk).update(
            started_at=at, finished_at=at + timedelta(milliseconds=spec["latency_ms"])
        )
        at += timedelta(milliseconds=spec["latency_ms"])
    for index in range(delivered):
        OutputImage.objects.create(
            generation=generation,
            index=index,
            file=f"outputs/{generation.pk}-{index}.png",
            thumbnail=f"thumbnails/{generation.pk}-{index}.jpg",
            sha256="0" * 64,
            width=64,
            height=64,
            format="png",
            bytes=100,
        )
    charged = delivered * price
    credits_capture(user=owner, amount=charged, generation=generation)
    credits_release(user=owner, amount=generation.credits_held - charged, generation=generation)
    Generation.objects.filter(pk=generation.pk).update(status=status, credits_charged=charged)
    generation.refresh_from_db()
    return generation
