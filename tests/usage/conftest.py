import pytest

from accounts.models import ApiKey
from generations.models import ProviderAccount
from generations.usage.demo_seed import SeedResult, demo_data_seed

SEEDED_GENERATIONS = 200


@pytest.fixture
def seeded(db, default_prices) -> SeedResult:
    """A small demo history (the same generator as the 100,000-generation benchmark)."""
    return demo_data_seed(generations=SEEDED_GENERATIONS, users=6, days=30)


@pytest.fixture
def ark(db) -> ProviderAccount:
    return ProviderAccount.objects.create(
        kind="ark", label="Ark (team)", models_served=["seedream-4.0"]
    )


@pytest.fixture
def fal(db) -> ProviderAccount:
    return ProviderAccount.objects.create(
        kind="fal", label="fal (team)", models_served=["seedream-4.0"]
    )


@pytest.fixture
def api_key(user) -> ApiKey:
    return ApiKey.objects.create(
        user=user, name="render farm", prefix="abcdef123456", secret_hash="x"
    )
