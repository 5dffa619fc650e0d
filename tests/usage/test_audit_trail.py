"""The audit trail is complete for what staff change, and nobody can edit it in the admin."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, User
from accounts.services.credits import credits_adjust, credits_grant
from accounts.services.keys import api_key_create, api_key_revoke
from accounts.services.pricing import price_set
from accounts.services.users import user_set_flags
from generations.services.provider_accounts import (
    ProviderAccountInput,
    provider_account_create,
    provider_account_set_enabled,
    provider_account_set_key,
    provider_account_update,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

AUDIT_URL = reverse("admin:accounts_auditevent_changelist")
EXPORT_URL = reverse("admin:accounts_auditevent_export")
SECRET = "sk-live-never-in-the-trail-0123456789"


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_every_service_change_leaves_an_event(admin_user, user, default_prices):
    AuditEvent.objects.all().delete()
    issued = api_key_create(user=user, name="laptop")
    api_key_revoke(api_key=issued.api_key, actor=admin_user)
    credits_grant(user=user, amount=500, actor=admin_user, memo="welcome")
    credits_adjust(user=user, amount=-100, actor=admin_user, memo="correction")
    price_set(model_id="seedream-4.0", size_tier="", credits_per_image=33, actor=admin_user)
    account = provider_account_create(
        data=ProviderAccountInput(kind="ark", label="Ark", api_key=SECRET, models=["seedream-4.0"]),
        actor=admin_user,
    )
    provider_account_update(account=account, changes={"priority": 5}, actor=admin_user)
    provider_account_set_key(account=account, api_key=SECRET + "2", actor=admin_user)
    provider_account_set_enabled(account=account, enabled=False, actor=admin_user, reason="x")
    user_set_flags(user=user, changes={"is_staff": True}, actor=admin_user)

    assert actions() == [
        "api_key.created",
        "api_key.revoked",
        "credits.granted",
        "credits.adjusted",
        "price.changed",
        "provider_account.created",
        "provider_account.changed",
        "provider_account.key_changed",
        "provider_account.disabled",
        "user.staff_changed",
    ]
    for event in AuditEvent.objects.all():
        assert SECRET not in f"{event.before} {event.after} {event.target_repr}"


def test_staff_and_active_flag_changes_in_the_admin_are_audited(admin_client: Client, admin_user):
    teammate = UserFactory()
    change_url = reverse("admin:accounts_user_change", args=[teammate.pk])
    form = admin_client.get(change_url).context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None}
    data.update(
        {
            "username": teammate.username,
            "email": "moved@example.com",
            "is_staff": "on",
            "date_joined_0": teammate.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": teammate.date_joined.strftime("%H:%M:%S"),
            "groups": [],
            "user_permissions": [],
        }
    )
    data.pop("is_active")  # unticked: deactivate
    data.pop("is_superuser", None)
    data.pop("last_login", None)
    data.pop("password", None)

    response = admin_client.post(change_url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    teammate.refresh_from_db()
    assert (teammate.is_staff, teammate.is_active, teammate.email) == (
        True,
        False,
        "moved@example.com",
    )
    staff = AuditEvent.objects.get(action="user.staff_changed", target_id=str(teammate.pk))
    assert (staff.actor, staff.before, staff.after) == (
        admin_user,
        {"is_staff": False},
        {"is_staff": True},
    )
    active = AuditEvent.objects.get(action="user.active_changed", target_id=str(teammate.pk))
    assert active.after == {"is_active": False}
    assert active.ip_address == "127.0.0.1"


def test_saving_a_user_without_flag_changes_writes_no_event(admin_user):
    teammate = UserFactory()
    user_set_flags(user=teammate, changes={"is_active": True}, actor=admin_user)
    assert not AuditEvent.objects.filter(target_id=str(teammate.pk)).exists()


def test_failed_logins_of_staff_usernames_are_audited_without_the_password(client: Client):
    staff = UserFactory(is_staff=True)
    teammate = UserFactory()

    # The admin signs in through the workspace's form: both failures come from there.
    assert client.get(reverse("admin:login")).url.startswith(reverse("login"))
    client.post(reverse("login"), {"login": staff.username, "password": "guess-1"})
    client.post(reverse("login"), {"login": staff.username, "password": "guess-2"})
    client.post(reverse("login"), {"login": teammate.username, "password": "typo"})
    client.post(reverse("login"), {"login": "nobody", "password": "guess"})

    events = AuditEvent.objects.filter(action="user.login_failed")
    assert [event.target_id for event in events] == [str(staff.pk)] * 2
    for event in events:
        assert event.actor is None
        assert event.ip_address == "127.0.0.1"
        assert "guess" not in str(event.after)


def test_audit_events_cannot_be_added_changed_or_deleted(admin_client: Client, admin_user, user):
    credits_grant(user=user, amount=5, actor=admin_user, memo="x")
    event = AuditEvent.objects.latest("id")
    change = reverse("admin:accounts_auditevent_change", args=[event.pk])

    assert admin_client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    assert admin_client.post(change, {"action": "forged"}).status_code == 403
    delete = reverse("admin:accounts_auditevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    listing = admin_client.get(AUDIT_URL)
    assert "delete_selected" not in listing.context["cl"].model_admin.get_actions(
        listing.wsgi_request
    )
    event.refresh_from_db()
    assert event.action == "credits.granted"


def test_filters_by_actor_kind_and_date_and_exports_exactly_the_selection(admin_client, admin_user):
    user = UserFactory()
    credits_grant(user=user, amount=5, actor=admin_user, memo="by staff")
    credits_grant(user=user, amount=6, actor=None, memo="by the system")
    old = credits_grant(user=user, amount=7, actor=admin_user, memo="long ago")
    AuditEvent.objects.filter(after__memo="long ago").update(
        created_at=timezone.now() - timedelta(days=60)
    )
    assert old

    def listed(**params: object) -> list[str]:
        response = admin_client.get(AUDIT_URL, params)
        return [event.after.get("memo") for event in response.context["cl"].result_list]

    assert listed(actor=admin_user.pk, action="credits.granted") == ["by staff", "long ago"]
    assert listed(actor="system", action="credits.granted") == ["by the system"]
    recent = {"created_at__gte": (timezone.now() - timedelta(days=7)).isoformat()}
    assert listed(action="credits.granted", **recent) == ["by the system", "by staff"]

    response = admin_client.get(EXPORT_URL, {"actor": admin_user.pk, "action": "credits.granted"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["actor"] for row in rows] == [admin_user.username] * 2
    assert [json.loads(row["after"])["memo"] for row in rows] == ["by staff", "long ago"]
    page = admin_client.get(AUDIT_URL, {"action": "credits.granted"}).content.decode()
    assert f"{EXPORT_URL}?action=credits.granted" in page


def test_export_needs_staff(client: Client, user: User):
    client.force_login(user)
    assert client.get(EXPORT_URL).status_code == 302
