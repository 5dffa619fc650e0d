"""The staff admin changes keys, credits and prices only through the services, and audits it."""

import re
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent, CreditAccount, CreditEntry, ModelPrice, User
from accounts.services.credits import credits_grant, credits_hold
from accounts.services.keys import api_key_create
from tests.factories import GenerationFactory, UserFactory

pytestmark = pytest.mark.django_db

USERS_URL = reverse("admin:accounts_user_changelist")
TOKEN = "0123456789abcdef0123456789abcdef"


def credit_action(
    client: Client, action: str, users: list[User], *, amount: object, memo: str
) -> Any:
    return client.post(
        USERS_URL,
        {
            "action": action,
            ACTION_CHECKBOX_NAME: [user.pk for user in users],
            "apply": "1",
            "amount": amount,
            "memo": memo,
            "request_token": TOKEN,
        },
        follow=True,
    )


def page_messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def available(user: User) -> int:
    return CreditAccount.objects.get(user=user).available


def test_grant_action_shows_the_amount_and_memo_page_first(admin_client: Client, user: User):
    entries_before = CreditEntry.objects.count()

    response = admin_client.post(
        USERS_URL, {"action": "grant_credits", ACTION_CHECKBOX_NAME: [user.pk], "index": "0"}
    )

    assert response.status_code == 200
    assert response.templates[0].name == "admin/accounts/credit_action.html"
    assert b'name="memo"' in response.content
    assert re.search(rb'name="request_token" value="[0-9a-f]{32}"', response.content)
    assert CreditEntry.objects.count() == entries_before


def test_grant_action_writes_a_grant_entry_and_an_audit_event(
    admin_client: Client, admin_user: User, user: User
):
    before = available(user)

    response = credit_action(admin_client, "grant_credits", [user], amount=500, memo="Welcome")

    assert response.status_code == 200
    entry = CreditEntry.objects.get(memo="Welcome")
    assert (entry.account.user, entry.kind, entry.amount) == (user, CreditEntry.Kind.GRANT, 500)
    assert entry.actor == admin_user
    assert available(user) == before + 500
    event = AuditEvent.objects.get(action="credits.granted", actor=admin_user)
    assert event.after["memo"] == "Welcome"
    assert event.ip_address == "127.0.0.1"
    assert any("Granted credits" in message for message in page_messages(response))


def test_resubmitting_the_same_grant_page_grants_once(admin_client: Client, user: User):
    before = available(user)

    credit_action(admin_client, "grant_credits", [user], amount=500, memo="Welcome")
    credit_action(admin_client, "grant_credits", [user], amount=500, memo="Welcome")

    assert CreditEntry.objects.filter(memo="Welcome").count() == 1
    assert available(user) == before + 500


def test_grant_without_memo_is_refused_and_changes_nothing(admin_client: Client, user: User):
    before = (available(user), CreditEntry.objects.count(), AuditEvent.objects.count())

    response = credit_action(admin_client, "grant_credits", [user], amount=500, memo="  ")

    assert "Nothing was changed" in " ".join(page_messages(response))
    assert (available(user), CreditEntry.objects.count(), AuditEvent.objects.count()) == before


def test_grant_with_a_non_number_shows_the_form_again(admin_client: Client, user: User):
    entries_before = CreditEntry.objects.count()

    response = credit_action(admin_client, "grant_credits", [user], amount="lots", memo="x")

    assert response.templates[0].name == "admin/accounts/credit_action.html"
    assert response.context["form"].errors["amount"]
    assert CreditEntry.objects.count() == entries_before


def test_adjust_below_zero_is_refused_and_changes_nothing(admin_client: Client, user: User):
    short = UserFactory()
    credits_grant(user=short, amount=100, actor=None, memo="start")
    user_before = available(user)

    # Enough for one user, not the other: the batch is all or nothing.
    response = credit_action(
        admin_client, "adjust_credits", [user, short], amount=-200, memo="Correction"
    )

    messages = " ".join(page_messages(response))
    assert "Nothing was changed" in messages
    # Addressed to staff, about the user: not the user's own "ask staff for more credits".
    assert f"{short.get_username()} has 100 available; this adjustment needs 200" in messages
    assert "Ask staff" not in messages
    assert available(user) == user_before
    assert available(short) == 100
    assert not CreditEntry.objects.filter(kind=CreditEntry.Kind.ADJUST).exists()
    assert not AuditEvent.objects.filter(action="credits.adjusted").exists()


def test_adjust_action_corrects_the_balance(admin_client: Client, admin_user: User, user: User):
    before = available(user)

    credit_action(admin_client, "adjust_credits", [user], amount=-250, memo="Double grant")

    assert available(user) == before - 250
    entry = CreditEntry.objects.get(kind=CreditEntry.Kind.ADJUST)
    assert (entry.amount, entry.actor, entry.memo) == (-250, admin_user, "Double grant")
    assert AuditEvent.objects.get(action="credits.adjusted").actor == admin_user


def test_staff_without_the_credit_permission_cannot_grant(client: Client, user: User):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_user"))
    client.force_login(staff)

    response = credit_action(client, "grant_credits", [user], amount=500, memo="Welcome")

    assert response.status_code == 200
    assert not CreditEntry.objects.filter(memo="Welcome").exists()


def test_users_changelist_shows_balances(admin_client: Client):
    credits_grant(user=UserFactory(), amount=1234, actor=None, memo="start")

    response = admin_client.get(USERS_URL)

    assert response.status_code == 200
    assert b"1234" in response.content


def test_user_change_page_shows_the_balance_and_links_the_ledger(admin_client: Client):
    teammate = UserFactory()
    credits_grant(user=teammate, amount=4321, actor=None, memo="start")

    response = admin_client.get(reverse("admin:accounts_user_change", args=[teammate.pk]))

    assert response.status_code == 200
    assert b"4321" in response.content
    assert f"?account__user__id__exact={teammate.pk}".encode() in response.content


def test_users_changelist_query_count_does_not_grow_with_users(admin_client: Client):
    def changelist_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(USERS_URL).status_code == 200
        return len(captured)

    for number in range(2):
        credits_grant(user=UserFactory(), amount=10 + number, actor=None, memo="m")
    admin_client.get(USERS_URL)  # notes the session's activity (once a minute)
    with_two = changelist_queries()
    for number in range(8):
        credits_grant(user=UserFactory(), amount=10 + number, actor=None, memo="m")
    with_ten = changelist_queries()

    assert with_ten == with_two


@pytest.mark.parametrize("model", [CreditEntry, CreditAccount, AuditEvent])
def test_ledger_and_audit_admins_refuse_add_change_and_delete(
    admin_client: Client, user: User, model: type[Model]
):
    credits_grant(user=user, amount=10, actor=None, memo="start")
    obj = model._default_manager.first()
    assert obj is not None
    info = (model._meta.app_label, model._meta.model_name)
    change_url = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])

    assert admin_client.get(reverse("admin:{}_{}_add".format(*info))).status_code == 403
    assert admin_client.post(change_url, {}).status_code == 403
    delete_url = reverse("admin:{}_{}_delete".format(*info), args=[obj.pk])
    assert admin_client.get(delete_url).status_code == 403
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    # Staff can still read the record.
    assert admin_client.get(change_url).status_code == 200
    assert model._default_manager.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("model", [CreditEntry, CreditAccount, AuditEvent])
def test_ledger_and_audit_changelists_render(admin_client: Client, user: User, model: type[Model]):
    credits_grant(user=user, amount=10, actor=None, memo="start")
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    response = admin_client.get(url, {"q": user.get_username()})

    assert response.status_code == 200
    assert user.get_username().encode() in response.content


def test_credit_entries_are_searchable_by_generation_id(admin_client: Client, user: User):
    generation = GenerationFactory(owner=user)
    credits_grant(user=user, amount=100, actor=None, memo="start")
    credits_hold(amount=30, generation=generation)

    response = admin_client.get(
        reverse("admin:accounts_creditentry_changelist"), {"q": str(generation.pk)}
    )

    assert [entry.kind for entry in response.context["cl"].result_list] == ["hold"]


def test_api_key_admin_never_renders_the_secret_hash(admin_client: Client, user: User):
    api_key = api_key_create(user=user, name="laptop").api_key

    changelist = admin_client.get(reverse("admin:accounts_apikey_changelist"))
    detail = admin_client.get(reverse("admin:accounts_apikey_change", args=[api_key.pk]))

    for response in (changelist, detail):
        assert response.status_code == 200
        assert api_key.prefix.encode() in response.content
        assert api_key.secret_hash.encode() not in response.content
        assert b"secret_hash" not in response.content
    assert admin_client.get(reverse("admin:accounts_apikey_add")).status_code == 403


def test_revoke_action_revokes_and_audits(admin_client: Client, admin_user: User, user: User):
    api_key = api_key_create(user=user, name="laptop").api_key
    keep = api_key_create(user=user, name="ci").api_key

    admin_client.post(
        reverse("admin:accounts_apikey_changelist"),
        {"action": "revoke_keys", ACTION_CHECKBOX_NAME: [api_key.pk], "index": "0"},
    )

    api_key.refresh_from_db()
    keep.refresh_from_db()
    assert api_key.revoked_at is not None
    assert keep.revoked_at is None
    event = AuditEvent.objects.get(action="api_key.revoked")
    assert (event.actor, event.target_id) == (admin_user, str(api_key.pk))
    assert event.ip_address == "127.0.0.1"


def test_price_edit_goes_through_price_set_and_is_audited(admin_client: Client, admin_user: User):
    price = ModelPrice.objects.get(model="seedream-4.0", size_tier="")
    old = price.credits_per_image

    response = admin_client.post(
        reverse("admin:accounts_modelprice_change", args=[price.pk]),
        {"credits_per_image": old + 15, "source": "New list price"},
    )

    assert response.status_code == 302
    price.refresh_from_db()
    assert (price.credits_per_image, price.updated_by) == (old + 15, admin_user)
    event = AuditEvent.objects.get(action="price.changed")
    assert event.before == {"credits_per_image": old}
    assert event.after == {"credits_per_image": old + 15}
    assert event.actor == admin_user


def test_price_add_offers_catalog_models_and_audits(admin_client: Client):
    add_url = reverse("admin:accounts_modelprice_add")
    form_page = admin_client.get(add_url)
    assert b'<option value="seedream-4.5"' in form_page.content

    response = admin_client.post(
        add_url, {"model": "seedream-4.5", "size_tier": "4K", "credits_per_image": 60}
    )
    refused = admin_client.post(
        add_url, {"model": "not-a-model", "size_tier": "", "credits_per_image": 1}
    )

    assert response.status_code == 302
    assert ModelPrice.objects.get(model="seedream-4.5", size_tier="4K").credits_per_image == 60
    assert AuditEvent.objects.get(action="price.changed").after == {"credits_per_image": 60}
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["model"]


def test_prices_cannot_be_deleted(admin_client: Client):
    price = ModelPrice.objects.get(model="seedream-4.0", size_tier="")

    response = admin_client.post(
        reverse("admin:accounts_modelprice_delete", args=[price.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert ModelPrice.objects.filter(pk=price.pk).exists()
