"""The team services the team pages call: who may make an owner, the policy, the webhook."""

import pytest

from accounts.models import AuditEvent, Membership
from accounts.services.teams import (
    OwnersOnly,
    TeamError,
    TeamPolicyInvalid,
    team_member_remove,
    team_member_set,
    team_policy_set,
    team_webhook_set,
)
from generations.catalog import list_models
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

KNOWN = [model.id for model in list_models()]


def test_a_manager_cannot_make_an_owner(team, manager, member):
    with pytest.raises(OwnersOnly) as refused:
        team_member_set(team=team, user=member, role="owner", actor=manager)
    assert "Only an owner of team Design" in refused.value.message
    assert refused.value.field == "role"
    assert Membership.objects.get(team=team, user=member).role == "member"


def test_a_manager_cannot_add_someone_as_owner(team, manager):
    newcomer = UserFactory()
    with pytest.raises(OwnersOnly):
        team_member_set(team=team, user=newcomer, role="owner", actor=manager)
    assert not Membership.objects.filter(team=team, user=newcomer).exists()


def test_a_manager_cannot_demote_or_remove_an_owner(team, owner, manager):
    member_set_owner = team_member_set(team=team, user=UserFactory(), role="owner", actor=owner)
    with pytest.raises(OwnersOnly):
        team_member_set(team=team, user=member_set_owner.user, role="member", actor=manager)
    with pytest.raises(OwnersOnly):
        team_member_remove(team=team, user=member_set_owner.user, actor=manager)


def test_an_owner_staff_and_the_installation_may_make_owners(team, owner, member, staff):
    team_member_set(team=team, user=member, role="owner", actor=owner)
    other = UserFactory()
    team_member_set(team=team, user=other, role="owner", actor=staff)
    third = UserFactory()
    team_member_set(team=team, user=third, role="owner", actor=None)
    owners = Membership.objects.filter(team=team, role="owner").count()
    assert owners == 4


def test_a_manager_manages_the_other_members(team, manager, member):
    team_member_set(team=team, user=member, role="manager", actor=manager)
    team_member_remove(team=team, user=member, actor=manager)
    assert not Membership.objects.filter(team=team, user=member).exists()


def test_the_last_owner_stays(team, owner):
    with pytest.raises(TeamError, match="last owner"):
        team_member_set(team=team, user=owner, role="member", actor=owner)
    with pytest.raises(TeamError, match="last owner"):
        team_member_remove(team=team, user=owner, actor=owner)


def test_policy_is_saved_and_audited(team, owner):
    team_policy_set(
        team=team,
        actor=owner,
        allowed_models=["seedream-4.0", "seedream-4.0"],
        max_size_tier="2K",
        max_images_per_request=4,
        max_running=3,
        known_models=KNOWN,
    )
    team.refresh_from_db()
    assert (team.allowed_models, team.max_size_tier) == (["seedream-4.0"], "2K")
    assert (team.max_images_per_request, team.max_running) == (4, 3)
    event = AuditEvent.objects.get(action="team.policy_set")
    assert event.actor == owner
    assert event.before["max_size_tier"] == ""
    assert event.after["max_running"] == 3


def test_policy_refusals_name_each_field(team, owner):
    with pytest.raises(TeamPolicyInvalid) as refused:
        team_policy_set(
            team=team,
            actor=owner,
            allowed_models=["seedream-9"],
            max_size_tier="8K",
            max_images_per_request=0,
            max_running=None,
            known_models=KNOWN,
        )
    errors = refused.value.field_errors
    assert errors["allowed_models"] == ["Unknown models: seedream-9."]
    assert "1K, 2K" in errors["max_size_tier"][0]
    assert "from 1" in errors["max_images_per_request"][0]
    team.refresh_from_db()
    assert team.allowed_models == []
    assert not AuditEvent.objects.filter(action="team.policy_set").exists()


def test_webhook_is_saved_and_audited(team, owner):
    team_webhook_set(team=team, actor=owner, url=" https://hooks.example.com/budget ")
    team.refresh_from_db()
    assert team.webhook_url == "https://hooks.example.com/budget"
    event = AuditEvent.objects.get(action="team.webhook_set")
    assert event.after == {"webhook_url": "https://hooks.example.com/budget"}
