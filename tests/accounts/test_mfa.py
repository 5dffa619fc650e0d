"""Two-factor authentication: enrolment with a code computed from the secret the page shows (as
an authenticator app computes it), the code asked after the password, recovery codes that work
once, wrong codes under the sign-in throttle, and the admin closed to staff without it when
MFA_REQUIRED_FOR_STAFF is on."""

import html
import re

import pyotp
import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, User
from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"  # UserFactory's
SECRET_INPUT = re.compile(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"')
RECOVERY_CODE = re.compile(r"<li><code>([0-9a-zA-Z]+)</code></li>")

# Transactional: allauth announces a new authenticator (the audit, the mail) once its transaction
# commits, inside the request, as it does on the server.
pytestmark = pytest.mark.django_db(transaction=True)


def sign_in_with_password(client: Client, user: User) -> str:
    """The password step; returns where it sends the browser."""
    response = client.post(reverse("login"), {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response.url


def enrol(client: Client, user: User) -> tuple[str, list[str]]:
    """Sign in, set up an authenticator app from the enrolment page; the secret and the
    recovery codes shown right after."""
    sign_in_with_password(client, user)
    # Enrolling asks for the password again first (someone at an unattended browser must not
    # tie the account to their own phone).
    asked = client.get(reverse("mfa_activate_totp"))
    assert asked.url.startswith(reverse("account_reauthenticate"))
    confirmed = client.post(asked.url, {"password": PASSWORD})
    assert confirmed.url == reverse("mfa_activate_totp")
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = SECRET_INPUT.search(page.content.decode()).group(1)
    response = client.post(reverse("mfa_activate_totp"), {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert response.url == reverse("mfa_view_recovery_codes")
    codes = RECOVERY_CODE.findall(client.get(response.url).content.decode())
    assert len(codes) == 10
    return secret, codes


def signed_in(client: Client) -> bool:
    return client.get(reverse("account-credits")).status_code == 200


def test_enrolment_with_a_real_code_then_sign_in_asks_for_it_after_the_password():
    user = UserFactory()
    secret, _ = enrol(Client(), user)
    assert AuditEvent.objects.filter(action="user.mfa_added", target_id=str(user.pk)).exists()

    client = Client()
    assert sign_in_with_password(client, user) == reverse("mfa_authenticate")
    assert not signed_in(client)  # the password alone does not sign in
    prompt = client.get(reverse("mfa_authenticate")).content.decode()
    assert 'class="panel narrow auth"' in prompt
    assert "Enter your code" in prompt

    response = client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(secret).now()})

    assert response.status_code == 302
    assert signed_in(client)


def test_a_wrong_code_does_not_sign_in():
    user = UserFactory()
    secret, _ = enrol(Client(), user)
    client = Client()
    sign_in_with_password(client, user)
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"

    response = client.post(reverse("mfa_authenticate"), {"code": wrong})

    assert response.status_code == 200
    assert "Incorrect code" in html.unescape(response.content.decode())
    assert not signed_in(client)


def test_a_recovery_code_signs_in_once():
    user = UserFactory()
    _, codes = enrol(Client(), user)

    first = Client()
    sign_in_with_password(first, user)
    assert first.post(reverse("mfa_authenticate"), {"code": codes[0]}).status_code == 302
    assert signed_in(first)

    second = Client()
    sign_in_with_password(second, user)
    again = second.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert again.status_code == 200
    assert not signed_in(second)
    # Another unused code still works, and the page counts what is left.
    assert second.post(reverse("mfa_authenticate"), {"code": codes[1]}).status_code == 302
    left = second.get(reverse("mfa_index")).content.decode()
    assert "8 of 10 codes left" in left


def test_wrong_codes_count_against_the_account_and_lock_it(settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    user = UserFactory()
    secret, _ = enrol(Client(), user)
    client = Client()
    sign_in_with_password(client, user)
    right = pyotp.TOTP(secret).now()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    statuses = [
        client.post(reverse("mfa_authenticate"), {"code": wrong}).status_code for _ in range(3)
    ]
    locked = client.post(reverse("mfa_authenticate"), {"code": right})

    assert statuses == [200, 200, 200]
    assert locked.status_code == 429  # even the right code, until the lock ends
    assert int(locked["Retry-After"]) > 0
    assert not signed_in(client)
    # The lock is the account's: its password step is refused too, from anywhere.
    assert (
        Client().post(reverse("login"), {"login": user.email, "password": PASSWORD}).status_code
        == 429
    )
    assert AuditEvent.objects.filter(action="user.login_locked", target_id=str(user.pk)).exists()


# --- The admin and MFA_REQUIRED_FOR_STAFF -------------------------------------------------------


def test_staff_without_mfa_are_sent_to_enrol_before_the_admin_when_required(settings):
    settings.MFA_REQUIRED_FOR_STAFF = True
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    sign_in_with_password(client, staff)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 302
    refusals = AuditEvent.objects.filter(
        action="user.admin_refused_without_mfa", target_id=str(staff.pk)
    )
    assert [event.after["path"] for event in refusals.order_by("pk")] == [
        reverse("admin:index"),
        reverse("admin:accounts_user_changelist"),
    ]
    page = client.get(response.url, follow=True).content.decode()
    assert "The admin needs two-factor authentication" in page  # after confirming the password


def test_staff_with_mfa_open_the_admin_when_required(settings):
    settings.MFA_REQUIRED_FOR_STAFF = True
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    enrol(client, staff)

    assert client.get(reverse("admin:index")).status_code == 200
    assert not AuditEvent.objects.filter(action="user.admin_refused_without_mfa").exists()


def test_staff_without_mfa_open_the_admin_when_not_required(settings):
    settings.MFA_REQUIRED_FOR_STAFF = False
    client = Client()
    sign_in_with_password(client, UserFactory(is_staff=True, is_superuser=True))

    assert client.get(reverse("admin:index")).status_code == 200


def test_the_users_list_shows_who_has_mfa_on(admin_client: Client):
    with_mfa, without = UserFactory(), UserFactory()
    enrol(Client(), with_mfa)

    page = admin_client.get(reverse("admin:accounts_user_changelist")).content.decode()

    rows = {
        user.username: re.search(rf">{user.username}</a>.*?</tr>", page, re.S).group(0)
        for user in (with_mfa, without)
    }
    assert "Password, MFA on" in rows[with_mfa.username]
    assert "MFA on" not in rows[without.username]


def test_the_account_pages_link_two_factor_and_sessions(client: Client):
    user = UserFactory()
    sign_in_with_password(client, user)

    page = client.get(reverse("account_change_password")).content.decode()

    assert f'href="{reverse("mfa_index")}"' in page
    assert f'href="{reverse("usersessions_list")}"' in page
