import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from generations.catalog import list_models
from generations.models import ProviderAccount
from tests.factories import UserFactory


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def local_account(db) -> ProviderAccount:
    """The demo renderer serving every catalog model, as `make run` sets it up."""
    return ProviderAccount.objects.create(
        kind=ProviderAccount.Kind.LOCAL,
        label="Demo renderer (local)",
        models_served=[model.id for model in list_models()],
        options={"latency_s": 0},
    )


@pytest.fixture(autouse=True)
def _clean_media(settings, tmp_path):
    """Each test writes files into its own folder, through the storage API."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    yield
    assert default_storage.location == str(tmp_path / "media")


def make_png(
    width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 80, 40)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()
