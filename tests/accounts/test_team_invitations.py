"""Invitations that name a team and a role: accepting makes the new account a member, added by
the inviter (the team's audit trail says so); staff name them in the admin and ``manage.py
invite --team SLUG --role ROLE``."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Invitation, Membership, Team, User
from accounts.services.invitations import (
    InvitationError,
    invitation_accept_for_new_user,
    invitation_token,
    invitations_create,
)
from tests.factories import TeamFactory, UserFactory

PASSWORD = "a-long-unusual-passphrase"


@pytest.fixture
def design(db) -> Team:
    return TeamFactory(name="Design", slug="design")


def invite(email: str, *, team: Team | None, role: str = "member", by: User | None = None):
    [outcome] = invitations_create(
        emails=[email], invited_by=by, team=team, team_role=role, base_url="http://testserver"
    )
    assert outcome.invitation is not None
    return outcome.invitation


def accept(invitation: Invitation, username: str) -> object:
    path = reverse("invitation-accept", args=[invitation_token(invitation=invitation)])
    return Client().post(path, {"username": username, "password1": PASSWORD, "password2": PASSWORD})


def test_accepting_makes_the_new_account_a_member_added_by_the_inviter(design, admin_user):
    invitation = invite("ana@example.com", team=design, role="manager", by=admin_user)
    assert (invitation.team, invitation.team_role) == (design, "manager")

    assert accept(invitation, "ana").status_code == 302

    ana = User.objects.get(username="ana")
    membership = Membership.objects.get(team=design, user=ana)
    assert membership.role == "manager"
    event = AuditEvent.objects.get(action="team.member_set", target_id=str(design.pk))
    assert event.actor == admin_user
    assert event.after == {"user": "ana", "role": "manager"}
    accepted = AuditEvent.objects.get(action="invitation.accepted")
    assert accepted.after["team"] == "design"


def test_an_invitation_without_a_team_adds_no_membership(design):
    accept(invite("bo@example.com", team=None), "bo")
    assert User.objects.filter(username="bo").exists()
    assert not Membership.objects.exists()


def test_single_sign_on_acceptance_adds_the_membership_too(design, admin_user):
    invite("cy@example.com", team=design, by=admin_user)
    cy = UserFactory(username="cy", email="cy@example.com")
    assert invitation_accept_for_new_user(user=cy) is True
    assert Membership.objects.get(team=design, user=cy).role == "member"


def test_an_unknown_role_is_refused_and_invites_nobody(design):
    with pytest.raises(InvitationError, match="must be one of owner, manager, member"):
        invitations_create(
            emails=["dee@example.com"],
            invited_by=None,
            team=design,
            team_role="admin",
            base_url="http://testserver",
        )
    assert not Invitation.objects.exists()


def test_the_invitation_page_and_mail_name_the_team(
    design, mailoutbox, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invite("eve@example.com", team=design, role="owner", by=admin_user)
    [message] = mailoutbox
    assert "You join team Design as owner." in message.body
    invitation.refresh_from_db()
    path = reverse("invitation-accept", args=[invitation_token(invitation=invitation)])
    page = Client().get(path).content.decode()
    assert "You join team <strong>Design</strong> as owner." in page


def test_staff_invite_into_a_team_from_the_admin(design, admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:accounts_invitation_add"),
        {"emails": "fay@example.com", "credits": "0", "team": design.pk, "team_role": "manager"},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.team, invitation.team_role, invitation.invited_by) == (
        design,
        "manager",
        admin_user,
    )
    form = admin_client.get(reverse("admin:accounts_invitation_add")).content.decode()
    assert "Role in the team" in form
    listing = admin_client.get(reverse("admin:accounts_invitation_changelist")).content.decode()
    assert "Design" in listing


def test_the_invite_command_takes_a_team_and_a_role(design, capsys):
    call_command("invite", "gus@example.com", "--team", "design", "--role", "manager")
    invitation = Invitation.objects.get()
    assert (invitation.team, invitation.team_role) == (design, "manager")
    assert "Invited gus@example.com" in capsys.readouterr().out


def test_the_invite_command_with_an_unknown_team_invites_nobody(design):
    with pytest.raises(CommandError, match=r"There is no team “nowhere”\. Nobody was invited\."):
        call_command("invite", "hal@example.com", "--team", "nowhere")
    with pytest.raises(CommandError, match="give --team too"):
        call_command("invite", "hal@example.com", "--role", "manager")
    assert not Invitation.objects.exists()
