"""Password reset and change, email change, and login throttling on every login form."""

import time
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from tests.factories import UserFactory
from tests.mailserver import Mailbox, html_part, links

PASSWORD = "correct-horse-battery"  # UserFactory's
NEW_PASSWORD = "another-long-passphrase"


def log_in(client: Client, login: str, password: str = PASSWORD) -> int:
    return client.post(reverse("login"), {"login": login, "password": password}).status_code


def signed_in(client: Client) -> bool:
    return client.get(reverse("account-credits")).status_code == 200


# --- Password reset and change -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_reset_mail_reaches_smtp_and_its_link_sets_a_new_password(smtp_server: Mailbox):
    user = UserFactory()
    elsewhere = Client()
    assert log_in(elsewhere, user.username) == 302

    response = Client().post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302

    message = smtp_server.last_to(user.email)
    (link,) = [link for link in links(message) if "/password/reset/key/" in link]
    assert link in html_part(message)
    client = Client()
    form_page = client.get(urlsplit(link).path, follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else urlsplit(link).path,
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not signed_in(elsewhere)  # the reset signed out the other session
    assert log_in(Client(), user.username, NEW_PASSWORD) == 302


def test_changing_the_password_signs_out_the_other_sessions_only(db, mailoutbox):
    user = UserFactory()
    here, elsewhere = Client(), Client()
    assert log_in(here, user.username) == 302
    assert log_in(elsewhere, user.username) == 302

    response = here.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert signed_in(here)
    assert not signed_in(elsewhere)
    page = here.get(reverse("account_change_password")).content.decode()
    assert 'class="panel narrow auth"' in page
    assert "css/studio.css" in page


def test_the_old_password_urls_lead_to_the_new_pages(client):
    assert client.get("/password_reset/").url == reverse("account_reset_password")
    assert client.get("/password_change/").url == reverse("account_change_password")


def test_an_email_change_is_confirmed_by_the_new_address(db, mailoutbox):
    user = UserFactory(email="old@example.com")
    # As invitations and the migration of earlier accounts record it.
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    client = Client()
    assert log_in(client, user.username) == 302

    response = client.post(reverse("account_email"), {"action_add": "", "email": "new@example.com"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "old@example.com"  # not until the new address confirms
    (confirmation,) = [m for m in mailoutbox if m.to == ["new@example.com"]]
    (link,) = [line for line in confirmation.body.split() if "/confirm-email/" in line]
    client.post(urlsplit(link).path)

    user.refresh_from_db()
    assert user.email == "new@example.com"


def test_a_pending_address_is_shown_with_its_buttons_and_no_inline_style(db, client):
    """allauth's page hides its resend form with style="display: none", which the
    Content-Security-Policy refuses; ours uses the hidden attribute."""
    user = UserFactory(email="old@example.com")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    EmailAddress.objects.create(user=user, email="new@example.com", verified=False)
    client.force_login(user)

    page = client.get(reverse("account_email")).content.decode()

    assert "Your email address is still pending verification." in page
    assert 'form="pending-email" name="action_send"' in page
    assert 'form="pending-email" name="action_remove"' in page
    assert '<form hidden id="pending-email"' in page
    assert "style=" not in page


# --- Login throttling ---------------------------------------------------------------------------


def test_twenty_wrong_passwords_lock_the_account_until_the_window_passes(db, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 10
    settings.LOGIN_LOCKOUT_MINUTES = 15
    victim, colleague = UserFactory(), UserFactory()
    attacker = Client()

    statuses = [log_in(attacker, victim.username, f"guess-{n}") for n in range(20)]

    assert statuses[:10] == [200] * 10  # the form again, "wrong password"
    assert statuses[10:] == [429] * 10
    refused = attacker.post(reverse("login"), {"login": victim.username, "password": PASSWORD})
    assert refused.status_code == 429
    assert "Try again in 15 minutes" in refused.content.decode()
    assert int(refused["Retry-After"]) > 14 * 60
    # By address too: the account is locked whichever name is typed.
    assert log_in(Client(), victim.email) == 429
    # Another account signs in meanwhile, from the same address.
    assert log_in(Client(), colleague.username) == 302
    (event,) = AuditEvent.objects.filter(action="user.login_locked")
    assert event.target_id == str(victim.pk)
    assert event.ip_address == "127.0.0.1"

    # The window passes: the right password works again.
    later = time.time() + 15 * 60 + 1
    from unittest import mock

    with mock.patch("accounts.services.login_throttle.time.time", return_value=later):
        assert log_in(Client(), victim.username) == 302


def test_the_admin_signs_in_through_the_throttled_form(db, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    for n in range(3):
        client.post(reverse("admin:login"), {"username": staff.username, "password": f"g{n}"})
        log_in(client, staff.username, f"guess-{n}")
    assert log_in(client, staff.username) == 429
    assert client.get(reverse("admin:index")).status_code == 302  # still not signed in


def test_a_non_staff_user_is_not_sent_round_in_circles_by_the_admin(client, user):
    client.force_login(user)
    assert client.get(reverse("admin:login")).status_code == 403
