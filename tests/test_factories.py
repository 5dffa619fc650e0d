"""Every model of the project's apps has a factory, and what each makes keeps the ledger whole."""

import factory
import pytest
from django.apps import apps
from django.core.files.storage import default_storage

from accounts.models import CreditAccount, CreditEntry
from generations.models import Generation
from tests import factories
from tests.conftest import make_png

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("accounts", "generations")


def model_factories() -> list[type[factory.django.DjangoModelFactory]]:
    return [
        value
        for value in vars(factories).values()
        if isinstance(value, type)
        and issubclass(value, factory.django.DjangoModelFactory)
        and not value._meta.abstract
    ]


def test_every_model_has_a_factory():
    covered = {factory_class._meta.model for factory_class in model_factories()}
    models = {model for label in PROJECT_APPS for model in apps.get_app_config(label).get_models()}
    assert sorted(model.__name__ for model in models - covered) == []


@pytest.mark.parametrize("factory_class", model_factories(), ids=lambda cls: cls.__name__)
def test_each_factory_makes_a_saved_row(factory_class):
    row = factory_class()
    assert factory_class._meta.model.objects.filter(pk=row.pk).exists()


def test_a_funded_user_gets_its_credits_as_a_grant():
    user = factories.UserFactory(credits=500)
    account = CreditAccount.objects.get(user=user)
    assert (account.available, account.held) == (500, 0)
    assert list(account.entries.values_list("kind", "amount")) == [("grant", 500)]


def test_an_adjustment_entry_goes_through_the_credit_service():
    account = factories.CreditAccountFactory(available=100)
    entry = factories.CreditEntryFactory(account=account, kind="adjust", amount=-40)
    account.refresh_from_db()
    assert (entry.available_after, account.available) == (60, 60)


def test_a_generation_holds_its_credits_and_a_finished_one_settles_them():
    owner = factories.UserFactory(credits=1000)
    running = factories.GenerationFactory(
        owner=owner, status=Generation.Status.RUNNING, credits_held=90
    )
    finished = factories.GenerationFactory(
        owner=owner, status=Generation.Status.PARTIAL, credits_held=90, credits_charged=60
    )
    account = CreditAccount.objects.get(user=owner)
    assert (account.available, account.held) == (1000 - 90 - 60, 90)
    assert sorted(
        CreditEntry.objects.filter(generation=finished).values_list("kind", "held_change")
    ) == [("capture", -60), ("hold", 90), ("release", -30)]
    assert CreditEntry.objects.filter(generation=running).count() == 1


def test_automatic_timestamps_can_be_given():
    earlier = factories.finished_generation_times(seconds=5)["created_at"].replace(year=2024)
    generation = factories.GenerationFactory(created_at=earlier)
    generation.refresh_from_db()
    assert generation.created_at == earlier


def test_an_image_given_content_is_stored_under_its_name():
    content = make_png()
    image = factories.OutputImageFactory(content=content)
    with default_storage.open(image.file.name) as stored:
        assert stored.read() == content
    assert default_storage.exists(image.thumbnail.name)
    assert image.bytes == len(content)
