"""API keys bound to a team and a key's own limits: the keys page's "Charge to", the key's
limits page (budget, policy, running limit) and the services behind them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import ApiKey, AuditEvent, Budget, Team, User
from accounts.services.keys import (
    ApiKeySettingsInvalid,
    ApiKeyTeamRefused,
    KeyPolicy,
    NotKeyOwner,
    api_key_budget_remove,
    api_key_budget_set,
    api_key_create,
    api_key_policy_set,
    api_key_revoke,
)
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(db) -> User:
    return UserFactory(username="ana")


@pytest.fixture
def design(member) -> Team:
    team = TeamFactory(name="Design", slug="design")
    MembershipFactory(team=team, user=member)
    return team


def settings_url(api_key: ApiKey) -> str:
    return reverse("account-key-settings", args=[api_key.pk])


# --- The service -----------------------------------------------------------------------------


def test_a_key_bound_to_a_team_records_it_and_audits_it(member, design):
    api_key = api_key_create(user=member, name="ci", team=design).api_key
    assert api_key.team == design
    event = AuditEvent.objects.get(action="api_key.created", target_id=str(api_key.pk))
    assert event.after["team"] == "design"


def test_a_key_cannot_be_bound_to_a_team_its_owner_is_not_in(member, design):
    ops = TeamFactory(name="Ops", slug="ops")
    with pytest.raises(ApiKeyTeamRefused, match=r"not a member of “ops” \(your teams: design\)"):
        api_key_create(user=member, name="ci", team=ops)
    assert not ApiKey.objects.exists()


def test_policy_set_saves_and_audits_before_and_after(member):
    api_key = api_key_create(user=member, name="ci").api_key
    api_key_policy_set(
        api_key=api_key,
        actor=member,
        allowed_models=["seedream-4.0", "seedream-4.0"],
        max_size_tier="2K",
        max_images_per_request=4,
        max_running=2,
    )
    api_key.refresh_from_db()
    assert (
        api_key.allowed_models,
        api_key.max_size_tier,
        api_key.max_images_per_request,
        api_key.max_running,
    ) == (["seedream-4.0"], "2K", 4, 2)
    event = AuditEvent.objects.get(action="api_key.policy_set")
    assert event.actor == member
    assert event.before["max_running"] is None
    assert event.after["allowed_models"] == ["seedream-4.0"]
    # Saving the same again changes nothing and writes nothing.
    api_key_policy_set(
        api_key=api_key,
        actor=member,
        allowed_models=["seedream-4.0"],
        max_size_tier="2K",
        max_images_per_request=4,
        max_running=2,
    )
    assert AuditEvent.objects.filter(action="api_key.policy_set").count() == 1


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"allowed_models": ["dall-e-3"]}, "allowed_models", "Unknown models: dall-e-3."),
        ({"max_size_tier": "8K"}, "max_size_tier", "The size tier must be one of"),
        ({"max_running": 0}, "max_running", "Leave it empty for no limit"),
        ({"max_images_per_request": 0}, "max_images_per_request", "Leave it empty"),
    ],
)
def test_policy_set_refuses_what_cannot_be_saved(member, fields, field, message):
    api_key = api_key_create(user=member, name="ci").api_key
    with pytest.raises(ApiKeySettingsInvalid, match=message) as raised:
        api_key_policy_set(api_key=api_key, actor=member, **fields)
    assert raised.value.field == field
    assert not AuditEvent.objects.filter(action="api_key.policy_set").exists()


def test_only_the_owner_and_staff_change_a_keys_limits(member, admin_user):
    api_key = api_key_create(user=member, name="ci").api_key
    stranger = UserFactory()
    with pytest.raises(NotKeyOwner, match="Only the owner of API key “ci” and staff"):
        api_key_policy_set(api_key=api_key, actor=stranger, max_running=1)
    with pytest.raises(NotKeyOwner):
        api_key_budget_set(api_key=api_key, actor=stranger, limit=10)
    api_key_policy_set(api_key=api_key, actor=admin_user, max_running=1)
    budget = api_key_budget_set(api_key=api_key, actor=admin_user, limit=10, period="day")
    assert (budget.scope, budget.api_key, budget.limit, budget.period) == (
        "key",
        api_key,
        10,
        "day",
    )
    assert AuditEvent.objects.get(action="budget.set").actor == admin_user


def test_a_revoked_keys_limits_cannot_change(member):
    api_key = api_key_create(user=member, name="ci").api_key
    api_key_revoke(api_key=api_key, actor=member)
    with pytest.raises(ApiKeySettingsInvalid, match="revoked"):
        api_key_policy_set(api_key=api_key, actor=member, max_running=1)


def test_budget_set_changes_the_one_budget_and_remove_takes_it_away(member):
    api_key = api_key_create(user=member, name="ci").api_key
    api_key_budget_set(api_key=api_key, actor=member, limit=100, period="month")
    api_key_budget_set(api_key=api_key, actor=member, limit=200, period="week")
    budget = Budget.objects.get(scope="key", api_key=api_key)
    assert (budget.limit, budget.period) == (200, "week")
    with pytest.raises(ApiKeySettingsInvalid, match="period must be one of") as raised:
        api_key_budget_set(api_key=api_key, actor=member, limit=200, period="year")
    assert raised.value.field == "period"
    api_key_budget_remove(api_key=api_key, actor=member)
    api_key_budget_remove(api_key=api_key, actor=member)  # none left: nothing happens
    assert not Budget.objects.exists()
    assert AuditEvent.objects.filter(action="budget.removed").count() == 1


# --- The keys page ---------------------------------------------------------------------------


def test_keys_page_offers_charge_to_only_with_teams(client, member):
    client.force_login(member)
    assert "Charge to" not in client.get(reverse("account-keys")).content.decode()
    design = TeamFactory(name="Design", slug="design")
    MembershipFactory(team=design, user=member)
    TeamFactory(name="Ops", slug="ops")  # not theirs: not offered
    page = client.get(reverse("account-keys")).content.decode()
    assert "Charge to" in page
    assert '<option value="" selected>My own credits</option>' in page
    assert '<option value="design">Team Design</option>' in page
    assert "Team Ops" not in page


def test_a_key_created_on_the_page_charges_the_chosen_team(client, member, design):
    client.force_login(member)
    response = client.post(reverse("account-keys"), {"name": "ci", "team": "design"})
    assert response.status_code == 303
    api_key = ApiKey.objects.get(user=member)
    assert api_key.team == design
    listing = client.get(reverse("account-keys")).content.decode()
    assert '<td data-key-team="design" data-label="Charges">Team Design</td>' in listing


def test_a_team_that_is_not_the_users_is_refused_on_the_page(client, member, design):
    TeamFactory(name="Ops", slug="ops")
    client.force_login(member)
    response = client.post(reverse("account-keys"), {"name": "ci", "team": "ops"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_keys_page_shows_each_keys_team_and_limits(client, member, design):
    own = api_key_create(
        user=member, name="laptop", policy=KeyPolicy(max_size_tier="2K", max_running=2)
    ).api_key
    bound = api_key_create(user=member, name="ci", team=design).api_key
    api_key_budget_set(api_key=bound, actor=member, limit=1500, period="day")
    client.force_login(member)
    page = client.get(reverse("account-keys")).content.decode()
    assert '<td data-key-team="" data-label="Charges">Your credits</td>' in page
    assert '<td data-key-team="design" data-label="Charges">Team Design</td>' in page
    assert "1,500 credits daily" in page
    assert "up to 2K" in page
    assert "2 running at once" in page
    assert f'href="{settings_url(own)}"' in page
    assert f'href="{settings_url(bound)}"' in page


def test_keys_page_query_count_does_not_grow_with_teams_and_budgets(client, member, design):
    client.force_login(member)
    api_key_create(user=member, name="first", team=design)
    client.get(reverse("account-keys"))  # notes the session's activity (once a minute)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("account-keys")).status_code == 200
    for number in range(5):
        team = TeamFactory()
        MembershipFactory(team=team, user=member)
        api_key = api_key_create(user=member, name=f"key {number}", team=team).api_key
        api_key_budget_set(api_key=api_key, actor=member, limit=100)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("account-keys")).status_code == 200
    assert len(many) == len(few)


# --- A key's limits page ---------------------------------------------------------------------


def test_limits_page_sets_the_budget_and_shows_its_standing(client, member):
    api_key = api_key_create(user=member, name="ci").api_key
    client.force_login(member)
    page = client.get(settings_url(api_key)).content.decode()
    assert "No budget" in page
    response = client.post(
        settings_url(api_key), {"action": "budget", "limit": "2000", "period": "week"}
    )
    assert response.status_code == 302
    budget = Budget.objects.get(scope="key", api_key=api_key)
    assert (budget.limit, budget.period) == (2000, "week")
    page = client.get(settings_url(api_key)).content.decode()
    assert "0 of 2,000 credits used this week, resets" in page
    assert "Saved the budget of “ci”." in page

    client.post(settings_url(api_key), {"action": "budget-remove"})
    assert not Budget.objects.exists()


def test_limits_page_sets_the_policy(client, member):
    api_key = api_key_create(user=member, name="ci").api_key
    client.force_login(member)
    page = client.get(settings_url(api_key)).content.decode()
    assert 'value="seedream-4.5"' in page  # every catalog model offered
    response = client.post(
        settings_url(api_key),
        {
            "action": "policy",
            "allowed_models": ["seedream-4.0", "seedream-4.5"],
            "max_size_tier": "2K",
            "max_images_per_request": "3",
            "max_running": "1",
        },
    )
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert (
        sorted(api_key.allowed_models),
        api_key.max_size_tier,
        api_key.max_images_per_request,
        api_key.max_running,
    ) == (["seedream-4.0", "seedream-4.5"], "2K", 3, 1)
    assert AuditEvent.objects.get(action="api_key.policy_set").actor == member


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"action": "policy", "max_running": "0"}, "greater than or equal to 1"),
        ({"action": "policy", "allowed_models": ["dall-e-3"]}, "Select a valid choice"),
        ({"action": "budget", "limit": "-5", "period": "month"}, "greater than or equal to 0"),
        ({"action": "budget", "limit": "5", "period": "year"}, "Select a valid choice"),
    ],
)
def test_limits_page_shows_errors_and_changes_nothing(client, member, data, error):
    api_key = api_key_create(user=member, name="ci").api_key
    client.force_login(member)
    response = client.post(settings_url(api_key), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    api_key.refresh_from_db()
    assert api_key.max_running is None
    assert not Budget.objects.exists()


def test_limits_page_of_a_revoked_key_says_why_nothing_changes(client, member):
    api_key = api_key_create(user=member, name="ci").api_key
    api_key_revoke(api_key=api_key, actor=member)
    client.force_login(member)
    response = client.post(settings_url(api_key), {"action": "policy", "max_running": "2"})
    assert response.status_code == 400
    assert "API key “ci” is revoked" in response.content.decode()


def test_another_users_key_limits_page_is_404_but_staff_may_open_it(client, member, admin_client):
    api_key = api_key_create(user=member, name="ci").api_key
    client.force_login(UserFactory())
    assert client.get(settings_url(api_key)).status_code == 404
    assert (
        client.post(settings_url(api_key), {"action": "policy", "max_running": "1"}).status_code
        == 404
    )
    page = admin_client.get(settings_url(api_key))
    assert page.status_code == 200
    assert "ana's own credits" in page.content.decode()
    admin_client.post(settings_url(api_key), {"action": "policy", "max_running": "1"})
    api_key.refresh_from_db()
    assert api_key.max_running == 1


def test_limits_page_requires_login(client, member):
    api_key = api_key_create(user=member, name="ci").api_key
    response = client.get(settings_url(api_key))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
