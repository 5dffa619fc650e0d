import pytest

from accounts.models import ApiKey
from generations.models import ProviderAccount
from generations.usage.demo_seed import SeedResult, demo_data_seed
from tests.factories import ApiKeyFactory, ProviderAccountFactory

SEEDED_GENERATIONS = 200


@pytest.fixture
def seeded(db, default_prices) -> SeedResult:
    """A small demo history (the same generator as the 100,000-generation benchmark)."""
    return demo_data_seed(generations=SEEDED_GENERATIONS, users=6, days=30)


@pytest.fixture
def ark(db) -> ProviderAccount:
    return ProviderAccountFactory(kind="ark", label="Ark (team)")


@pytest.fixture
def fal(db) -> ProviderAccount:
    return ProviderAccountFactory(kind="fal", label="fal (team)")


@pytest.fixture
def api_key(user) -> ApiKey:
    return ApiKeyFactory(user=user, name="render farm", prefix="abcdef123456")
