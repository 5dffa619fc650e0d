"""Finished generations for usage tests: exact figures, their credits through the real credit
services (``tests.factories.GenerationFactory``)."""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.models import ApiKey, CreditAccount, User
from generations.models import Generation, ProviderAccount
from tests.factories import (
    GenerationFactory,
    OutputImageFactory,
    ProviderAttemptFactory,
    finished_generation_times,
)


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
    wallet: CreditAccount | None = None,
) -> Generation:
    """A generation with its hold settled (whatever ``status`` says), outputs stored and
    attempts recorded; charged to ``wallet`` (default: the owner's own)."""
    created_at = created_at or timezone.now() - timedelta(hours=2)
    delivered = num_images if delivered is None and status == "succeeded" else (delivered or 0)
    times = finished_generation_times(created_at=created_at, seconds=seconds)
    charged_to = {"wallet": wallet} if wallet is not None else {}
    generation = GenerationFactory(
        owner=owner,
        **charged_to,
        api_key=api_key,
        model=model,
        prompt=prompt,
        params={},
        num_images=num_images,
        price_per_image=price,
        credits_held=num_images * price,
        credits_charged=delivered * price,
        status=status,
        # Settled even when left running: the tests that do so end it with a plain update.
        through_ledger__settle=True,
        **times,
    )
    at = times["started_at"]
    for spec in attempts or []:
        finished_at = at + timedelta(milliseconds=spec["latency_ms"])
        ProviderAttemptFactory(
            generation=generation,
            account=spec["account"],
            outcome=spec["outcome"],
            images_returned=spec["images"],
            usage=spec["usage"],
            latency_ms=spec["latency_ms"],
            error_code=spec["error_code"],
            provider_request_id=spec["request_id"],
            started_at=at,
            finished_at=finished_at,
        )
        at = finished_at
    for index in range(delivered):
        OutputImageFactory(generation=generation, index=index, width=64, height=64)
    generation.refresh_from_db()
    return generation
