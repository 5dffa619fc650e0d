"""Invitations: a mailed, signed link that works once before it expires; acceptance makes the
account, grants the credits (one ledger entry) and signs in; each step is in the audit trail."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, CreditEntry, Invitation, User
from accounts.services.invitations import invitation_revoke, invitations_create
from tests.mailserver import Mailbox, html_part, links, text_part

PASSWORD = "a-long-unusual-passphrase"


def invite(email: str, *, credits: int = 0, staff: bool = False, by: User | None = None) -> None:
    invitations_create(
        emails=[email], invited_by=by, is_staff=staff, credits=credits, base_url="http://testserver"
    )


def accept_link(mailbox: Mailbox, email: str) -> str:
    (link,) = [link for link in links(mailbox.last_to(email)) if "/invitations/" in link]
    return urlsplit(link).path


def accept(client: Client, path: str, username: str = "ana") -> object:
    return client.post(path, {"username": username, "password1": PASSWORD, "password2": PASSWORD})


@pytest.mark.django_db(transaction=True)
def test_an_invitation_mail_reaches_smtp_and_its_link_makes_the_account(
    smtp_server: Mailbox, admin_user, settings
):
    settings.SITE_NAME = "Acme Images"
    invite("Ana@Example.com", credits=500, by=admin_user)

    message = smtp_server.last_to("ana@example.com")
    assert "Acme Images" in message["Subject"]
    path = accept_link(smtp_server, "ana@example.com")
    assert path in html_part(message)
    assert "500 credits" in text_part(message)

    client = Client()
    page = client.get(path)
    assert page.status_code == 200
    assert "ana@example.com" in page.content.decode()
    response = accept(client, path)

    assert response.status_code == 302
    assert response.url == reverse("workspace")
    user = User.objects.get(username="ana")
    assert user.email == "ana@example.com"
    assert user.check_password(PASSWORD)
    assert not user.is_staff
    assert EmailAddress.objects.get(user=user).verified
    entry = CreditEntry.objects.get(account__user=user)
    assert (entry.kind, entry.amount, entry.actor) == (CreditEntry.Kind.GRANT, 500, admin_user)
    assert client.get(reverse("workspace")).context["user"] == user
    invitation = Invitation.objects.get()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert invitation.accepted_user == user
    actions = set(
        AuditEvent.objects.filter(target_type="accounts.invitation").values_list(
            "action", flat=True
        )
    )
    assert actions == {"invitation.created", "invitation.accepted"}

    # Once: the same link again, even from another browser, makes nothing.
    again = accept(Client(), path, username="ana2")
    assert again.status_code == 410
    assert not User.objects.filter(username="ana2").exists()


@pytest.mark.django_db(transaction=True)
def test_an_expired_link_is_refused(smtp_server: Mailbox):
    invite("bo@example.com")
    path = accept_link(smtp_server, "bo@example.com")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(path).status_code == 410
    assert accept(Client(), path, "bo").status_code == 410
    assert not User.objects.filter(username="bo").exists()


@pytest.mark.django_db(transaction=True)
def test_resend_replaces_the_link_and_revoke_closes_it(smtp_server: Mailbox, admin_client):
    invite("cy@example.com")
    first = accept_link(smtp_server, "cy@example.com")
    invitation = Invitation.objects.get()
    changelist = reverse("admin:accounts_invitation_changelist")

    admin_client.post(
        changelist, {"action": "resend_invitations", "_selected_action": [invitation.pk]}
    )

    second = accept_link(smtp_server, "cy@example.com")
    assert second != first
    assert Client().get(first).status_code == 410
    assert Client().get(second).status_code == 200

    admin_client.post(
        changelist, {"action": "revoke_invitations", "_selected_action": [invitation.pk]}
    )
    assert Client().get(second).status_code == 410
    actions = list(
        AuditEvent.objects.filter(target_id=str(invitation.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["invitation.created", "invitation.resent", "invitation.revoked"]


@pytest.mark.django_db(transaction=True)
def test_staff_invite_a_pasted_list_from_the_admin(smtp_server: Mailbox, admin_client, admin_user):
    User.objects.create_user("dee", email="dee@example.com")
    response = admin_client.post(
        reverse("admin:accounts_invitation_add"),
        {
            "emails": "Eve <eve@example.com>, fay@example.com\nDee@example.com; eve@example.com",
            "is_staff": "on",
            "credits": "250",
        },
    )
    assert response.status_code == 302
    pending = Invitation.objects.filter(status=Invitation.Status.PENDING)
    assert sorted(pending.values_list("email", flat=True)) == ["eve@example.com", "fay@example.com"]
    assert all(invitation.is_staff and invitation.credits == 250 for invitation in pending)
    assert {message["X-Envelope-To"] for message in smtp_server.messages} == {
        "eve@example.com",
        "fay@example.com",
    }
    listing = admin_client.get(reverse("admin:accounts_invitation_changelist")).content.decode()
    assert "eve@example.com" in listing
    assert "fay@example.com" in listing


def test_adding_a_user_in_the_admin_is_inviting(admin_client):
    response = admin_client.get(reverse("admin:accounts_user_add"))
    assert response.status_code == 302
    assert response.url == reverse("admin:accounts_invitation_add")
    listing = admin_client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "Last login" in listing
    assert "Signs in with" in listing


@pytest.mark.django_db(transaction=True)
def test_the_invite_command(smtp_server: Mailbox, capsys):
    call_command("invite", "gus@example.com", "hal@example.com", "--staff", "--credits", "40")
    assert {message["X-Envelope-To"] for message in smtp_server.messages} == {
        "gus@example.com",
        "hal@example.com",
    }
    assert all(invitation.is_staff for invitation in Invitation.objects.all())
    assert "Invited gus@example.com" in capsys.readouterr().out
    with pytest.raises(CommandError, match="Nobody was invited"):
        call_command("invite", "gus@example.com")  # already pending
    with pytest.raises(CommandError, match="Not an email address"):
        call_command("invite", "not-an-address")


def test_a_weak_password_or_taken_username_is_refused(db, mailoutbox, user):
    invite("ivy@example.com")
    invitation = Invitation.objects.get()
    from accounts.services.invitations import invitation_token

    path = reverse("invitation-accept", args=[invitation_token(invitation=invitation)])
    weak = Client().post(path, {"username": "ivy", "password1": "123", "password2": "123"})
    assert weak.status_code == 400
    taken = accept(Client(), path, username=user.username)
    assert taken.status_code == 400
    assert "taken" in taken.content.decode()
    assert Invitation.objects.get().status == Invitation.Status.PENDING


def test_revoking_twice_is_harmless(db, mailoutbox, admin_user):
    invite("jo@example.com")
    invitation = Invitation.objects.get()
    invitation_revoke(invitation=invitation, actor=admin_user)
    invitation_revoke(invitation=invitation, actor=admin_user)
    assert AuditEvent.objects.filter(action="invitation.revoked").count() == 1


def test_open_signup_stays_off_by_default(client):
    assert client.get(reverse("signup")).status_code == 404
    assert client.get(reverse("account_signup")).status_code == 404


def test_the_invitation_mail_task_is_known_to_a_web_process():
    """Services send the mail task by name: a process that never imported accounts.tasks (the
    web server) must still know it, or the invitation is saved and its mail never sent."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    script = (
        "import django; django.setup(); from celery import current_app; "
        "print(current_app.tasks['accounts.send_invitation'].name)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "seedream_site.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "accounts.send_invitation"
