"""Teams, the wallet a request charges, team and key policies, running limits, manage.py team."""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent, Budget, CreditEntry, Membership, Team
from accounts.services.credits import credit_account_for, team_wallet_for
from accounts.services.keys import api_key_create
from accounts.services.policies import PolicyRefused
from accounts.services.teams import (
    NotATeamManager,
    TeamError,
    TeamNotFound,
    team_create,
    team_member_remove,
    team_member_set,
    wallet_for_request,
)
from generations.catalog import GenerationSpec
from generations.models import Generation
from generations.services import generation_submit
from generations.services.access import caller_policies, catalog_for
from generations.services.limits import TooManyRunning
from tests.conftest import funded_user
from tests.factories import GenerationFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks_not_sent(monkeypatch):
    monkeypatch.setattr("generations.tasks.run_generation_task.apply_async", lambda **kwargs: None)


def submit(user, *, wallet=None, api_key=None, model="seedream-4.0", size="1K", num_images=1):
    return generation_submit(
        user=user,
        spec=GenerationSpec(model=model, prompt="a lighthouse", size=size, num_images=num_images),
        wallet=wallet,
        api_key=api_key,
    )


def test_a_team_is_made_with_its_wallet_and_an_audit_event():
    team = team_create(name="Design", actor=None)

    assert (team.slug, team_wallet_for(team).available) == ("design", 0)
    assert AuditEvent.objects.filter(action="team.created", target_id=str(team.pk)).exists()
    with pytest.raises(TeamError, match="already a team at /teams/design/"):
        team_create(name="Design", actor=None)


def test_the_last_owner_can_be_neither_removed_nor_demoted():
    team = TeamFactory()
    owner, other = funded_user(0), funded_user(0)
    team_member_set(team=team, user=owner, role="owner", actor=None)

    with pytest.raises(TeamError, match="last owner"):
        team_member_remove(team=team, user=owner, actor=None)
    with pytest.raises(TeamError, match="last owner"):
        team_member_set(team=team, user=owner, role="member", actor=None)
    team_member_set(team=team, user=other, role="owner", actor=None)
    team_member_remove(team=team, user=owner, actor=None)

    assert list(team.memberships.values_list("user", "role")) == [(other.pk, "owner")]


def test_the_wallet_is_the_keys_team_the_named_team_or_the_callers_own():
    design, video = TeamFactory(slug="design"), TeamFactory(slug="video")
    user = funded_user(0)
    team_member_set(team=design, user=user, role="member", actor=None)
    bound = api_key_create(user=user, name="design key").api_key
    bound.team = design
    bound.save()
    free = api_key_create(user=user, name="own key").api_key

    assert wallet_for_request(user=user) == credit_account_for(user)
    assert wallet_for_request(user=user, team_slug="design") == team_wallet_for(design)
    assert wallet_for_request(user=user, api_key=bound) == team_wallet_for(design)
    assert wallet_for_request(user=user, api_key=free) == credit_account_for(user)
    with pytest.raises(
        TeamNotFound, match=r"not a member of a team “video” \(your teams: design\)"
    ):
        wallet_for_request(user=user, team_slug="video")
    with pytest.raises(TeamError, match=r"bound to team .* always charges it"):
        wallet_for_request(user=user, team_slug="video", api_key=bound)
    team_member_remove(team=design, user=user, actor=None)
    with pytest.raises(NotATeamManager, match="no longer a member"):
        wallet_for_request(user=user, api_key=bound)
    assert video  # a team the user never joined


def test_a_team_generation_is_charged_to_the_team_wallet(default_prices, tasks_not_sent):
    team = TeamFactory(name="Design", credits=1_000)
    user = funded_user(500)
    team_member_set(team=team, user=user, role="member", actor=None)

    generation = submit(user, wallet=team_wallet_for(team), num_images=2)

    wallet = team_wallet_for(team)
    assert generation.wallet == wallet
    assert (wallet.available, wallet.held) == (1_000 - 60, 60)
    assert credit_account_for(user).available == 500
    hold = CreditEntry.objects.get(generation=generation)
    assert (hold.kind, hold.account) == ("hold", wallet)


# --- policies ------------------------------------------------------------------------------


def test_policies_refuse_models_sizes_and_counts_naming_the_policy(default_prices, tasks_not_sent):
    team = TeamFactory(
        name="Design",
        credits=100_000,
        allowed_models=["seedream-4.0", "seedream-4.5"],
        max_size_tier="2K",
    )
    user = funded_user(100_000)
    team_member_set(team=team, user=user, role="member", actor=None)
    key = api_key_create(user=user, name="ci").api_key
    key.max_images_per_request = 2
    key.save()
    wallet = team_wallet_for(team)

    with pytest.raises(PolicyRefused) as model:
        submit(user, wallet=wallet, model="seedream-3.0-t2i", size="1024x1024")
    with pytest.raises(PolicyRefused) as size:
        submit(user, wallet=wallet, size="4K")
    with pytest.raises(PolicyRefused) as count:
        submit(user, wallet=wallet, api_key=key, num_images=3)

    assert model.value.message == (
        "Team Design's policy does not allow Seedream 3.0; allowed: Seedream 4.0, Seedream 4.5."
    )
    assert size.value.message.startswith("Team Design's policy allows images up to 2K")
    assert count.value.message == (
        "API key “ci”'s policy allows at most 2 images per request; this one asks for 3."
    )
    assert (model.value.status, model.value.code) == (403, "policy_refused")
    assert not Generation.objects.exists()
    submit(user, wallet=wallet, api_key=key, num_images=2, size="2K")


def test_the_catalog_shows_only_what_every_policy_allows():
    team = TeamFactory(allowed_models=["seedream-4.0", "seedream-4.5"], max_size_tier="2K")
    user = funded_user(0)
    team_member_set(team=team, user=user, role="member", actor=None)
    key = api_key_create(user=user, name="ci").api_key
    key.allowed_models = ["seedream-4.0"]
    key.max_images_per_request = 3
    key.team = team
    key.save()

    catalog = catalog_for(caller_policies(user=user, api_key=key))

    assert [model["id"] for model in catalog] == ["seedream-4.0"]
    assert catalog[0]["size_tiers"] == ["1K", "2K"]
    assert set(catalog[0]["tier_dimensions"]) == {"1K", "2K"}
    assert catalog[0]["max_outputs"] == 3
    own = catalog_for(caller_policies(user=user, api_key=None))
    assert len(own) > 1
    assert "4K" in next(model for model in own if model["id"] == "seedream-4.0")["size_tiers"]


# --- running limits ------------------------------------------------------------------------


def test_running_limits_per_user_key_and_team(default_prices, tasks_not_sent, settings):
    settings.RUNNING_LIMIT_RETRY_AFTER_S = 7
    team = TeamFactory(name="Design", credits=100_000, max_running=3)
    user = funded_user(100_000, max_running=2)
    team_member_set(team=team, user=user, role="member", actor=None)
    key = api_key_create(user=user, name="ci").api_key
    key.max_running = 1
    key.save()
    GenerationFactory(owner=user, status=Generation.Status.SUCCEEDED)  # finished: not counted

    submit(user)
    submit(user)
    with pytest.raises(TooManyRunning) as personal:
        submit(user)
    assert personal.value.message == (
        "2 of your generations are running; the limit is 2. Wait for one to finish."
    )
    assert personal.value.headers == {"Retry-After": "7"}
    assert personal.value.status == 429

    user.max_running = None
    user.save()
    submit(user, api_key=key)
    with pytest.raises(TooManyRunning, match="made with API key “ci” are running; its limit is 1"):
        submit(user, api_key=key)

    teammate = funded_user(0)
    team_member_set(team=team, user=teammate, role="member", actor=None)
    for _ in range(3):
        submit(teammate, wallet=team_wallet_for(team))
    with pytest.raises(TooManyRunning, match="3 of team Design's generations are running"):
        submit(user, wallet=team_wallet_for(team))


# --- manage.py team ------------------------------------------------------------------------


def test_the_team_command_creates_adds_grants_and_budgets(capsys):
    alice = funded_user(0, username="alice")

    call_command("team", "create", "Design Team", "--slug", "design")
    call_command("team", "add-member", "design", "alice", "--role", "manager")
    call_command("team", "grant", "design", "5000", "--memo", "December", "--idempotency-key", "d1")
    call_command("team", "grant", "design", "5000", "--memo", "December", "--idempotency-key", "d1")
    call_command("team", "budget", "design", "4000", "--period", "week")
    call_command("team", "budget", "design", "300", "--member", "alice")
    call_command("team", "remove-member", "design", "alice")

    out = capsys.readouterr().out
    team = Team.objects.get(slug="design")
    assert "Created team Design Team at /teams/design/." in out
    assert "nothing more was granted" in out
    assert team_wallet_for(team).available == 5000
    assert sorted(team.budgets.values_list("scope", "limit", "period")) == [
        (Budget.Scope.MEMBER, 300, "month"),
        (Budget.Scope.TEAM, 4000, "week"),
    ]
    assert not Membership.objects.filter(user=alice).exists()
    with pytest.raises(CommandError, match='There is no team "nope"'):
        call_command("team", "grant", "nope", "5", "--memo", "m")
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("team", "create", "Design", "--slug", "design")
