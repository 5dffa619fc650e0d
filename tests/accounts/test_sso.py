"""Single sign-on's rule (accounts.services.sso) and the SSO_ONLY switch, without a provider
(the end-to-end flows are in tests/sso and tests/browser/test_sso.py)."""

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, CreditEntry, Invitation, User
from accounts.services.invitations import invitation_revoke, invitations_create
from accounts.services.sso import (
    CREATED_ACTION,
    SsoRefusal,
    sso_account_provision,
    sso_admission_decide,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"  # UserFactory's
DOMAINS = ["team.test"]


def _decide(email: str, *, verified: bool = True):
    return sso_admission_decide(email=email, email_verified=verified, allowed_domains=DOMAINS)


def test_an_address_the_provider_did_not_verify_is_refused():
    UserFactory(email="ana@team.test")
    with pytest.raises(SsoRefusal) as refused:
        _decide("ana@team.test", verified=False)
    assert refused.value.code == "email_unverified"
    with pytest.raises(SsoRefusal):
        sso_admission_decide(email=None, email_verified=True, allowed_domains=DOMAINS)


def test_an_existing_account_is_found_by_its_address_whatever_the_domain():
    confirmed = UserFactory(email="old@elsewhere.test")
    EmailAddress.objects.create(user=confirmed, email="old@elsewhere.test", verified=True)
    assert _decide("OLD@elsewhere.test").user == confirmed
    legacy = UserFactory(email="legacy@team.test")  # made before addresses were confirmed
    assert _decide("legacy@team.test").user == legacy


def test_a_disabled_account_is_refused():
    UserFactory(email="gone@team.test", is_active=False)
    with pytest.raises(SsoRefusal) as refused:
        _decide("gone@team.test")
    assert refused.value.code == "inactive"


def test_a_new_address_needs_an_allowed_domain_or_an_invitation():
    assert _decide("new@Team.test").user is None
    with pytest.raises(SsoRefusal) as refused:
        _decide("new@elsewhere.test")
    assert refused.value.code == "domain_not_allowed"
    invitations_create(emails=["new@elsewhere.test"], invited_by=None, base_url="http://x")
    assert _decide("new@elsewhere.test").user is None


def test_a_revoked_or_expired_invitation_admits_nobody():
    (revoked, expired) = invitations_create(
        emails=["revoked@elsewhere.test", "late@elsewhere.test"],
        invited_by=None,
        base_url="http://x",
    )
    invitation_revoke(invitation=revoked.invitation, actor=None)
    Invitation.objects.filter(pk=expired.invitation.pk).update(expires_at=timezone.now())
    for email in ("revoked@elsewhere.test", "late@elsewhere.test"):
        with pytest.raises(SsoRefusal):
            _decide(email)


def test_a_new_account_accepts_its_invitation_with_its_credits_and_staff_flag():
    staff = UserFactory(is_staff=True)
    invitations_create(
        emails=["kim@elsewhere.test"],
        invited_by=staff,
        credits=300,
        is_staff=True,
        base_url="http://x",
    )
    user = UserFactory(email="kim@elsewhere.test")
    sso_account_provision(user=user, provider="sso", ip_address="10.0.0.1")
    user.refresh_from_db()
    assert user.is_staff
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.accepted_user) == (Invitation.Status.ACCEPTED, user)
    assert CreditEntry.objects.get(account__user=user).amount == 300
    assert AuditEvent.objects.filter(action=CREATED_ACTION, ip_address="10.0.0.1").exists()


def test_a_new_account_on_an_allowed_domain_gets_the_signup_credits(settings):
    settings.SIGNUP_INITIAL_CREDITS = 50
    user = UserFactory(email="ana@team.test")
    sso_account_provision(user=user, provider="sso", ip_address=None)
    assert CreditEntry.objects.get(account__user=user).amount == 50
    assert not user.is_staff


# --- SSO_ONLY ------------------------------------------------------------------------------


@pytest.fixture
def sso_only(settings):
    settings.SSO_ONLY = True
    SocialApp.objects.create(
        provider="openid_connect",
        provider_id="sso",
        name="Acme ID",
        client_id="c",
        secret="s",
        settings={"server_url": "https://id.acme.test"},
    )


def test_the_sign_in_page_offers_single_sign_on_and_lets_it_post_to_the_provider(sso_only):
    response = Client().get(reverse("login"))
    page = response.content.decode()
    assert "Sign in with Acme ID" in page
    assert 'action="/oidc/sso/login/?process=login"' in page
    assert "Staff: log in with a password" in page
    assert "https://id.acme.test" in response["Content-Security-Policy"]


def test_without_a_provider_the_page_has_no_button_and_posts_only_to_itself():
    response = Client().get(reverse("login"))
    assert "Sign in with" not in response.content.decode()
    assert "form-action 'self'" in response["Content-Security-Policy"]


def test_with_sso_only_passwords_sign_in_staff_only(sso_only):
    teammate = UserFactory()
    response = Client().post(reverse("login"), {"login": teammate.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "Passwords are for staff here" in response.content.decode()

    staff = UserFactory(is_staff=True)
    response = Client().post(reverse("login"), {"login": staff.username, "password": PASSWORD})
    assert response.status_code == 302


def test_with_sso_only_a_wrong_password_says_nothing_about_the_account(sso_only):
    teammate = UserFactory()
    response = Client().post(reverse("login"), {"login": teammate.username, "password": "nope"})
    assert "Passwords are for staff here" not in response.content.decode()


def test_the_users_list_shows_who_signs_in_through_single_sign_on(admin_client):
    linked, plain = UserFactory(), UserFactory()
    SocialAccount.objects.create(user=linked, provider="sso", uid="linked-subject")

    page = admin_client.get(reverse("admin:accounts_user_changelist")).content.decode()

    rows = {
        user.username: re.search(rf">{user.username}</a>.*?</tr>", page, re.S).group(0)
        for user in (linked, plain)
    }
    assert "Password, SSO" in rows[linked.username]
    assert "SSO" not in rows[plain.username]


def test_with_sso_only_an_invitation_offers_single_sign_on_and_no_password(sso_only):
    from accounts.services.invitations import invitation_accept_path

    (teammate,) = invitations_create(emails=["lee@team.test"], invited_by=None, base_url="x")
    path = invitation_accept_path(invitation=teammate.invitation)

    page = Client().get(path).content.decode()
    assert "Sign in with Acme ID" in page
    assert 'name="password1"' not in page
    refused = Client().post(path, {"username": "lee", "password1": PASSWORD, "password2": PASSWORD})
    assert refused.status_code == 403
    assert not User.objects.filter(username="lee").exists()

    # A staff invitation keeps its password: staff still sign in with one.
    (staff,) = invitations_create(
        emails=["ops@team.test"], invited_by=None, is_staff=True, base_url="x"
    )
    page = Client().get(invitation_accept_path(invitation=staff.invitation)).content.decode()
    assert 'name="password1"' in page


def test_with_sso_only_a_teammate_has_no_password_to_change_or_reset(sso_only, mailoutbox):
    teammate, staff = (
        UserFactory(email="ana@team.test"),
        UserFactory(email="ops@team.test", is_staff=True),
    )
    client = Client()
    client.force_login(teammate)
    page = client.get("/password/change/")
    assert page.status_code == 403
    assert "no password to change" in page.content.decode()
    client.post("/password/change/", {"oldpassword": PASSWORD, "password1": "N3w-pass-phrase!"})
    teammate.refresh_from_db()
    assert teammate.check_password(PASSWORD)

    staff_client = Client()
    staff_client.force_login(staff)
    assert staff_client.get("/password/change/").status_code == 200

    for address in ("ana@team.test", "ops@team.test"):
        Client().post(reverse("account_reset_password"), {"email": address})
    assert [message.to for message in mailoutbox if "password" in message.subject.lower()] == [
        ["ops@team.test"]
    ]
