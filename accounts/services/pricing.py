"""What a generation costs: credits per delivered image, from ``ModelPrice`` rows."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from django.db import transaction

from studio_core.errors import ServiceError

from ..models import ModelPrice, User
from .audit import audit_record
from .model_names import model_name

SIZE_TIERS = ("1K", "2K", "3K", "4K")
# An explicit WIDTHxHEIGHT is priced as the tier whose pixel budget it fits (1K ~ 1 MP,
# 2K ~ 4 MP, 3K ~ 9 MP, 4K ~ 16 MP).
TIER_PIXEL_CEILINGS = (("1K", 2_000_000), ("2K", 6_000_000), ("3K", 11_000_000))


class PriceMissing(ServiceError):
    code = "price_missing"

    def __init__(self, model_id: str) -> None:
        super().__init__(
            f"No price is set for {model_name(model_id)}, so it cannot be charged. "
            "Ask staff to set one under Admin > Model prices.",
            field="model",
        )


# (id, label) of each model a price can be set for. The app that owns the catalog registers
# them when it is ready (``register_priceable_models``): ``accounts`` does not import
# ``generations``.
_priceable_models: list[tuple[str, str]] = []


def register_priceable_models(models: Iterable[tuple[str, str]]) -> None:
    _priceable_models[:] = models


def priceable_models() -> list[tuple[str, str]]:
    return list(_priceable_models)


class PricedRequest(Protocol):
    """What a price depends on; a resolved generation spec has these (``accounts`` prices a
    request without knowing the catalog that resolved it)."""

    @property
    def model(self) -> str: ...
    @property
    def size(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def num_images(self) -> int: ...


@dataclass(frozen=True)
class Quote:
    model: str
    size_tier: str
    credits_per_image: int
    images: int

    @property
    def total(self) -> int:
        return self.credits_per_image * self.images

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "size_tier": self.size_tier,
            "credits_per_image": self.credits_per_image,
            "images": self.images,
            "total": self.total,
        }


def size_tier_of(*, size: str, width: int, height: int) -> str:
    if size.upper() in SIZE_TIERS:
        return size.upper()
    if size == "adaptive":
        return ""
    pixels = width * height
    for tier, ceiling in TIER_PIXEL_CEILINGS:
        if pixels <= ceiling:
            return tier
    return "4K"


def price_per_image(*, model_id: str, size_tier: str) -> int:
    """The tier's own price if it has one, else the model's price for every size."""
    prices = {
        price.size_tier: price.credits_per_image
        for price in ModelPrice.objects.filter(model=model_id, size_tier__in=[size_tier, ""])
    }
    if size_tier in prices:
        return prices[size_tier]
    if "" in prices:
        return prices[""]
    raise PriceMissing(model_id)


def price_quote(*, spec: PricedRequest) -> Quote:
    """Where a generation's price is decided: the model's credits per image at the request's
    size tier, times the images asked for (the hold at submit; the charge counts delivered
    images only, ``generations.services.billing``)."""
    tier = size_tier_of(size=spec.size, width=spec.width, height=spec.height)
    return Quote(
        model=spec.model,
        size_tier=tier,
        credits_per_image=price_per_image(model_id=spec.model, size_tier=tier),
        images=spec.num_images,
    )


def price_set(
    *,
    model_id: str,
    size_tier: str,
    credits_per_image: int,
    actor: User | None,
    source: str = "",
    ip_address: str | None = None,
) -> ModelPrice:
    if credits_per_image < 0:
        raise ValueError("A price cannot be negative.")
    if size_tier and size_tier not in SIZE_TIERS:
        raise ValueError(f"The size tier must be empty or one of {', '.join(SIZE_TIERS)}.")
    with transaction.atomic():
        price = (
            ModelPrice.objects.select_for_update()
            .filter(model=model_id, size_tier=size_tier)
            .first()
        )
        before = {"credits_per_image": price.credits_per_image} if price else {}
        if price is None:
            price = ModelPrice(model=model_id, size_tier=size_tier)
        price.credits_per_image = credits_per_image
        price.source = source or price.source
        price.updated_by = actor
        price.save()
        audit_record(
            actor=actor,
            action="price.changed",
            target=price,
            before=before,
            after={"credits_per_image": credits_per_image},
            ip_address=ip_address,
        )
    return price
