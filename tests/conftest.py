import importlib
import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from PIL import Image

from accounts.ledger import ledger_mismatches
from accounts.models import ModelPrice
from generations.catalog import list_models
from generations.models import ProviderAccount
from tests.factories import ProviderAccountFactory, UserFactory

STARTING_CREDITS = 100_000

# The fast lane (``make test-fast``) leaves out tests by marker, so a test that starts a worker
# process or drives a browser must carry the marker: asking for these fixtures without it is an
# error at collection, and so is starting a worker (``start_worker``) from an unmarked test.
MARKER_OF_FIXTURE = {"real_worker": "worker", "worker": "worker", "browser": "browser"}
_running: list[pytest.Item] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in set(getattr(item, "fixturenames", ())) & MARKER_OF_FIXTURE.keys():
            marker = MARKER_OF_FIXTURE[fixture]
            if not item.get_closest_marker(marker):
                raise pytest.UsageError(f"{item.nodeid} uses {fixture} but is not marked {marker}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    _running.append(item)
    try:
        return (yield)
    finally:
        _running.remove(item)


def require_marker(marker: str, what: str) -> None:
    """Fail unless the test running now carries ``marker`` (see MARKER_OF_FIXTURE)."""
    if _running and not _running[-1].get_closest_marker(marker):
        pytest.fail(f"{_running[-1].nodeid} starts {what} but is not marked {marker}")


@pytest.fixture
def user(db):
    """A teammate with plenty of credits (tests of running short make their own users)."""
    return funded_user(STARTING_CREDITS)


@pytest.fixture
def other_user(db):
    return funded_user(STARTING_CREDITS)


def funded_user(credits: int, **fields):
    return UserFactory(credits=credits, **fields)


@pytest.fixture
def default_prices(db) -> None:
    """The prices the data migration seeds; a transactional test's flush removes them."""
    prices_migration = importlib.import_module("accounts.migrations.0003_seed_model_prices")
    for model_id, credits, source in prices_migration.DEFAULT_PRICES:
        ModelPrice.objects.get_or_create(
            model=model_id,
            size_tier="",
            defaults={"credits_per_image": credits, "source": source},
        )


@pytest.fixture
def local_account(db, default_prices) -> ProviderAccount:
    """The demo renderer serving every catalog model, as `make run` sets it up."""
    return ProviderAccountFactory(
        kind=ProviderAccount.Kind.LOCAL,
        label="Demo renderer (local)",
        models_served=[model.id for model in list_models()],
        options={"latency_s": 0},
    )


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache, which outlives a test's database rollback."""
    cache.clear()


@pytest.fixture(autouse=True)
def _clean_media(settings, tmp_path):
    """Each test writes files into its own folder, through the storage API."""
    for name, value in media_settings(tmp_path / "media").items():
        setattr(settings, name, value)
    yield
    assert default_storage.location == str(tmp_path / "media")


def media_settings(folder: Path) -> dict[str, Any]:
    """Settings that put the default storage in ``folder``."""
    return {
        "MEDIA_ROOT": folder,
        "STORAGES": {
            **django_settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(folder)},
            },
        },
    }


def make_png(
    width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 80, 40)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _ledger_stays_consistent(request):
    """After every test that touched the database, the ledger must still check clean.

    This is ``manage.py check_ledger`` run after each of the suite's scenarios, inside the
    test's own database state. Tests that corrupt the ledger on purpose (to see the check catch
    it) are marked ``corrupts_ledger``.
    """
    uses_database = request.node.get_closest_marker("django_db") or any(
        name in request.fixturenames for name in ("db", "transactional_db")
    )
    if not uses_database or request.node.get_closest_marker("corrupts_ledger"):
        yield
        return
    # Depending on the database fixture makes it outlive this one: the check runs before the
    # test's transaction is rolled back or its tables flushed.
    request.getfixturevalue("_django_db_helper")
    yield
    mismatches = ledger_mismatches()
    assert not mismatches, "ledger check failed:\n" + "\n".join(map(str, mismatches))
