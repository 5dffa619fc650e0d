"""Sessions: a user sees their signed-in browsers (browser, address, last seen) and signs the
others out; staff deactivating a user end that user's sessions and revoke their API keys at
once (offboarding), audited."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiKey, AuditEvent, User
from accounts.services.keys import api_key_create
from accounts.templatetags.sessions import browser_name
from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"  # UserFactory's
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)

pytestmark = pytest.mark.django_db


def browser(user: User, *, user_agent: str, address: str) -> Client:
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)
    response = client.post(reverse("login"), {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def signed_in(client: Client) -> bool:
    return client.get(reverse("account-credits")).status_code == 200


def test_the_sessions_page_lists_each_browser_with_its_address_and_last_activity():
    user = UserFactory()
    laptop = browser(user, user_agent=FIREFOX, address="198.51.100.7")
    browser(user, user_agent=CHROME_ANDROID, address="203.0.113.9")

    page = laptop.get(reverse("usersessions_list")).content.decode()

    assert 'class="panel narrow auth"' in page
    assert "Firefox on Windows" in page
    assert "Chrome on Android" in page
    assert "198.51.100.7" in page
    assert "203.0.113.9" in page
    assert page.count("This browser") == 1
    assert "Last seen" in page
    assert "Sign out the other sessions" in page


def test_signing_out_the_other_sessions_keeps_this_one():
    user = UserFactory()
    here = browser(user, user_agent=FIREFOX, address="198.51.100.7")
    phone = browser(user, user_agent=CHROME_ANDROID, address="203.0.113.9")

    response = here.post(reverse("usersessions_list"))

    assert response.status_code == 302
    assert signed_in(here)
    assert not signed_in(phone)


def test_activity_is_noted_at_most_once_a_minute():
    from allauth.usersessions.models import UserSession

    user = UserFactory()
    client = browser(user, user_agent=FIREFOX, address="198.51.100.7")
    signed_in(client)  # notes this minute's activity
    noted = UserSession.objects.get(user=user).last_seen_at

    signed_in(client)

    assert UserSession.objects.get(user=user).last_seen_at == noted


def test_browser_names():
    assert browser_name(FIREFOX) == "Firefox on Windows"
    assert browser_name(CHROME_ANDROID) == "Chrome on Android"
    assert browser_name("curl/8.5.0") == "Unknown browser"
    assert browser_name("") == "Unknown browser"


# --- Offboarding --------------------------------------------------------------------------------


def deactivate_in_the_admin(admin: Client, user: User) -> None:
    """Untick "Active" on the user's admin page and save, as staff do."""
    url = reverse("admin:accounts_user_change", args=[user.pk])
    form = admin.get(url).context["adminform"].form
    data = {
        "username": user.username,
        "email": user.email,
        "first_name": "",
        "last_name": "",
        "date_joined_0": form.initial["date_joined"].strftime("%Y-%m-%d"),
        "date_joined_1": form.initial["date_joined"].strftime("%H:%M:%S"),
        # "is_active" left out: the box unticked.
    }
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def test_deactivating_a_user_signs_out_their_browsers_and_revokes_their_keys_at_once(
    admin_client: Client, admin_user: User
):
    user = UserFactory()
    laptop = browser(user, user_agent=FIREFOX, address="198.51.100.7")
    phone = browser(user, user_agent=CHROME_ANDROID, address="203.0.113.9")
    issued = api_key_create(user=user, name="render farm")
    already_revoked = api_key_create(user=user, name="old script").api_key
    already_revoked.revoked_at = already_revoked.created_at
    already_revoked.save()
    script = Client(HTTP_AUTHORIZATION=f"Bearer {issued.key}")
    assert script.get(reverse("api-me")).status_code == 200

    deactivate_in_the_admin(admin_client, user)

    assert not signed_in(laptop)
    assert not signed_in(phone)
    assert script.get(reverse("api-me")).status_code == 401
    issued.api_key.refresh_from_db()
    assert issued.api_key.is_revoked
    # Reactivating the account does not bring the old sessions or keys back.
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert not signed_in(laptop)
    assert script.get(reverse("api-me")).status_code == 401

    events = AuditEvent.objects.filter(actor=admin_user).order_by("pk")
    assert [event.action for event in events] == [
        "user.active_changed",
        "user.sessions_ended",
        "api_key.revoked",
    ]
    assert events[1].after == {"sessions": 2}
    assert events[2].target_id == str(issued.api_key.pk)
    assert ApiKey.objects.filter(user=user, revoked_at__isnull=True).count() == 0


def test_sessions_opened_before_activity_was_tracked_end_too(admin_client: Client):
    from allauth.usersessions.models import UserSession

    user = UserFactory()
    old = browser(user, user_agent=FIREFOX, address="198.51.100.7")
    UserSession.objects.filter(user=user).delete()  # as if opened before the sessions list
    other = UserFactory()
    bystander = browser(other, user_agent=FIREFOX, address="198.51.100.8")

    deactivate_in_the_admin(admin_client, user)

    assert not signed_in(old)
    assert signed_in(bystander)
