"""The team pages: who sees what, and every form's success and refusal."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts.models import AuditEvent, Budget, Membership
from tests.factories import BudgetFactory, TeamFactory, UserFactory
from tests.teams.conftest import member_of, team_url

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Who sees what ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "manager", "owner", "staff"])
def test_members_and_staff_see_the_team(request, team, who):
    user = request.getfixturevalue(who)
    response = signed_in(user).get(team_url(team))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Design</h1>" in body
    assert "100,000" in body  # the wallet's balance
    manages = who != "member"
    assert response.context["can_manage"] is manages
    assert ('action="/teams/design/members/#members"' in body) is manages
    assert ("Edit the policy" in body) is manages


def test_an_outsider_gets_404_for_the_team_and_its_csv(team, owner, outsider):
    client = signed_in(outsider)
    assert client.get(team_url(team)).status_code == 404
    assert client.get(team_url(team, "team-spending-csv")).status_code == 404
    assert client.post(team_url(team, "team-member-add"), {"who": "otto"}).status_code == 404
    assert client.get(reverse("team-detail", args=["no-such-team"])).status_code == 404


def test_visitors_are_sent_to_sign_in(team):
    response = Client().get(team_url(team))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_plain_member_may_not_post_changes(team, member, manager):
    client = signed_in(member)
    posts = [
        (team_url(team, "team-member-add"), {"who": "otto", "role": "member"}),
        (team_url(team, "team-member-role", manager.pk), {f"role{manager.pk}-role": "member"}),
        (team_url(team, "team-member-remove", manager.pk), {}),
        (team_url(team, "team-budget"), {"team-limit": "5", "team-period": "month"}),
        (team_url(team, "team-policy"), {"max_running": "1"}),
        (team_url(team, "team-webhook"), {"webhook_url": ""}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert (
        not AuditEvent.objects.filter(action__startswith="team.")
        .exclude(action="team.created")
        .exists()
    )


def test_teams_index_lists_ones_teams_with_role_and_balance(team, manager):
    TeamFactory(name="Elsewhere", slug="elsewhere")
    body = signed_in(manager).get(reverse("teams")).content.decode()
    assert "Design" in body
    assert "Manager" in body
    assert "100,000 credits" in body
    assert "Elsewhere" not in body


def test_staff_see_every_team_on_the_index(team, staff):
    TeamFactory(name="Elsewhere", slug="elsewhere")
    body = signed_in(staff).get(reverse("teams")).content.decode()
    assert "Design" in body
    assert "Elsewhere" in body


def test_the_nav_links_teams_for_members_and_staff_only(team, member, outsider, staff):
    link = f'href="{reverse("teams")}"'
    assert link in signed_in(member).get(reverse("account-keys")).content.decode()
    assert link in signed_in(staff).get(reverse("account-keys")).content.decode()
    assert link not in signed_in(outsider).get(reverse("account-keys")).content.decode()


# --- Members ------------------------------------------------------------------------------------


def test_a_manager_adds_a_member_by_username_or_email(team, manager):
    UserFactory(username="nina", email="nina@example.com")
    UserFactory(username="paul", email="Paul@Example.com")
    client = signed_in(manager)

    response = client.post(team_url(team, "team-member-add"), {"who": "nina", "role": "member"})
    assert response.status_code == 302
    assert response["Location"] == "/teams/design/#members"
    response = client.post(
        team_url(team, "team-member-add"), {"who": "paul@example.com", "role": "manager"}
    )
    assert response.status_code == 302

    roles = dict(Membership.objects.filter(team=team).values_list("user__username", "role"))
    assert roles["nina"] == "member"
    assert roles["paul"] == "manager"
    assert AuditEvent.objects.filter(action="team.member_set").count() == 2
    page = client.get(response["Location"]).content.decode()
    assert "paul joined team Design as manager." in page


def test_adding_nobody_or_a_member_again_says_so_next_to_the_field(team, manager, member):
    client = signed_in(manager)
    response = client.post(team_url(team, "team-member-add"), {"who": "ghost", "role": "member"})
    assert response.status_code == 400
    errors = response.context["member_add_form"].errors
    assert "Nobody here has the username or email “ghost”" in errors["who"][0]

    response = client.post(team_url(team, "team-member-add"), {"who": "max", "role": "member"})
    assert response.status_code == 400
    assert "already in team Design" in response.context["member_add_form"].errors["who"][0]


def test_a_manager_adding_an_owner_gets_the_services_refusal_on_the_role(team, manager):
    UserFactory(username="nina")
    response = signed_in(manager).post(
        team_url(team, "team-member-add"), {"who": "nina", "role": "owner"}
    )
    assert response.status_code == 400
    message = response.context["member_add_form"].errors["role"][0]
    assert message.startswith("Only an owner of team Design can make someone an owner")
    assert escape(message) in response.content.decode()


def test_the_owner_choice_is_offered_to_owners_only(team, owner, manager):
    def offered(user) -> bool:
        form = signed_in(user).get(team_url(team)).context["member_add_form"]
        return "owner" in [value for value, _ in form.fields["role"].widget.choices]

    assert offered(owner)
    assert not offered(manager)


def test_changing_a_role(team, owner, member):
    response = signed_in(owner).post(
        team_url(team, "team-member-role", member.pk), {f"role{member.pk}-role": "manager"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/teams/design/#member-{member.pk}"
    assert Membership.objects.get(team=team, user=member).role == "manager"


def test_demoting_the_last_owner_is_refused_with_the_services_message(team, owner):
    response = signed_in(owner).post(
        team_url(team, "team-member-role", owner.pk), {f"role{owner.pk}-role": "member"}
    )
    assert response.status_code == 400
    row = next(row for row in response.context["rows"] if row.membership.user_id == owner.pk)
    assert row.open
    assert "olga is the last owner of team Design" in row.role_form.non_field_errors()[0]
    assert "make someone else owner first" in response.content.decode()
    assert Membership.objects.get(team=team, user=owner).role == "owner"


def test_removing_a_member_and_refusing_to_remove_the_last_owner(team, owner, member):
    client = signed_in(owner)
    response = client.post(team_url(team, "team-member-remove", member.pk))
    assert response.status_code == 302
    assert not Membership.objects.filter(team=team, user=member).exists()
    assert AuditEvent.objects.filter(action="team.member_removed").count() == 1

    response = client.post(team_url(team, "team-member-remove", owner.pk))
    assert response.status_code == 400
    assert "olga is the last owner of team Design" in response.content.decode()
    assert Membership.objects.filter(team=team, user=owner).exists()


def test_members_of_another_team_are_not_found_here(team, owner):
    elsewhere = TeamFactory(slug="elsewhere")
    stranger = member_of(elsewhere, "sam", "member")
    response = signed_in(owner).post(team_url(team, "team-member-remove", stranger.pk))
    assert response.status_code == 404


# --- Budgets ------------------------------------------------------------------------------------


def test_setting_changing_and_removing_the_team_budget(team, manager):
    client = signed_in(manager)
    url = team_url(team, "team-budget")
    data = {"team-limit": "50000", "team-period": "week", "team-thresholds": "50, 90%"}
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == "/teams/design/#budgets"
    budget = Budget.objects.get(scope="team", team=team)
    assert (budget.limit, budget.period, budget.thresholds) == (50000, "week", [50, 90])
    page = client.get(team_url(team)).content.decode()
    assert "Team Design, weekly budget" in page
    assert "<meter" in page

    response = client.post(url, {"team-limit": "1", "team-period": "week", "remove": "1"})
    assert response.status_code == 302
    assert not Budget.objects.filter(team=team).exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith="budget.").values_list("action", flat=True)
    )
    assert sorted(actions) == ["budget.removed", "budget.set"]


def test_a_bad_budget_shows_each_message_next_to_its_field(team, manager):
    response = signed_in(manager).post(
        team_url(team, "team-budget"),
        {"team-limit": "-5", "team-period": "month", "team-thresholds": "80, lots"},
    )
    assert response.status_code == 400
    errors = response.context["team_budget_form"].errors
    assert "greater than or equal to 0" in errors["limit"][0]
    assert "“lots” is not a whole number" in errors["thresholds"][0]
    assert response.context["failed"] == "team_budget"
    assert not Budget.objects.exists()


def test_a_threshold_over_100_is_refused_by_the_budget_service(team, manager):
    response = signed_in(manager).post(
        team_url(team, "team-budget"),
        {"team-limit": "100", "team-period": "month", "team-thresholds": "80, 150"},
    )
    assert response.status_code == 400
    errors = response.context["team_budget_form"].errors
    assert errors["thresholds"] == ["Alert thresholds are percentages from 1 to 100."]


def test_setting_and_removing_a_member_budget(team, manager, member):
    client = signed_in(manager)
    url = team_url(team, "team-member-budget", member.pk)
    prefix = f"budget{member.pk}"
    response = client.post(
        url, {f"{prefix}-limit": "3000", f"{prefix}-period": "month", f"{prefix}-thresholds": "80"}
    )
    assert response.status_code == 302
    budget = Budget.objects.get(scope="member", team=team, user=member)
    assert (budget.limit, budget.thresholds) == (3000, [80])
    page = client.get(team_url(team)).content.decode()
    assert "max&#x27;s monthly budget in team Design" in page
    assert "Monthly budget: 3,000 credits" in page

    response = client.post(url, {f"{prefix}-limit": "", f"{prefix}-period": "month", "remove": "1"})
    assert response.status_code == 302
    assert not Budget.objects.filter(scope="member").exists()


def test_a_bad_member_budget_reopens_that_members_forms(team, manager, member):
    prefix = f"budget{member.pk}"
    response = signed_in(manager).post(
        team_url(team, "team-member-budget", member.pk),
        {f"{prefix}-limit": "", f"{prefix}-period": "fortnight"},
    )
    assert response.status_code == 400
    row = next(row for row in response.context["rows"] if row.membership.user_id == member.pk)
    assert row.open
    assert "limit" in row.budget_form.errors
    assert "period" in row.budget_form.errors
    others = [one for one in response.context["rows"] if one.membership.user_id != member.pk]
    assert not any(one.open or one.budget_form.is_bound for one in others)


# --- Policy and webhook -------------------------------------------------------------------------


def test_editing_the_policy(team, manager):
    client = signed_in(manager)
    response = client.post(
        team_url(team, "team-policy"),
        {
            "allowed_models": ["seedream-4.0", "seedream-4.5"],
            "max_size_tier": "2K",
            "max_images_per_request": "4",
            "max_running": "",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/teams/design/#policy"
    team.refresh_from_db()
    assert team.allowed_models == ["seedream-4.0", "seedream-4.5"]
    assert (team.max_size_tier, team.max_images_per_request, team.max_running) == ("2K", 4, None)
    assert AuditEvent.objects.filter(action="team.policy_set", actor=manager).exists()
    facts = signed_in(manager).get(team_url(team)).content.decode()
    assert "<dt>Largest size</dt><dd>2K</dd>" in facts


def test_a_bad_policy_shows_the_services_messages(team, manager):
    response = signed_in(manager).post(
        team_url(team, "team-policy"),
        {"allowed_models": ["seedream-9"], "max_size_tier": "8K", "max_running": "0"},
    )
    assert response.status_code == 400
    errors = response.context["policy_form"].errors
    assert errors["allowed_models"] == ["Unknown models: seedream-9."]
    assert "The size tier must be one of" in errors["max_size_tier"][0]
    assert "from 1" in errors["max_running"][0]
    assert "Unknown models: seedream-9." in response.content.decode()
    team.refresh_from_db()
    assert team.max_running is None


def test_setting_and_clearing_the_webhook(team, manager, settings):
    settings.FETCH_ALLOW_PRIVATE_HOSTS = ["localhost"]  # the test's stand-in for a public host
    client = signed_in(manager)
    url = team_url(team, "team-webhook")
    response = client.post(url, {"webhook_url": "http://localhost:9/seedream"})
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.webhook_url == "http://localhost:9/seedream"
    response = client.post(url, {"webhook_url": ""})
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.webhook_url == ""
    assert AuditEvent.objects.filter(action="team.webhook_set").count() == 2


@pytest.mark.parametrize("address", ["http://127.0.0.1:8000/hook", "ftp://example.com/x"])
def test_a_webhook_to_a_private_or_odd_address_is_refused(team, manager, address):
    response = signed_in(manager).post(team_url(team, "team-webhook"), {"webhook_url": address})
    assert response.status_code == 400
    errors = response.context["webhook_form"].errors["webhook_url"]
    assert errors
    assert escape(errors[0]) in response.content.decode()
    team.refresh_from_db()
    assert team.webhook_url == ""


def test_every_form_carries_a_csrf_token(team, owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    page = client.get(team_url(team)).content.decode()
    # Every form on the page, the top bar's log-out included.
    assert page.count('method="post"') == page.count('name="csrfmiddlewaretoken"') > 6
    refused = client.post(team_url(team, "team-webhook"), {"webhook_url": ""})
    assert refused.status_code == 403


def test_member_budgets_show_for_everyone_read_only(team, member):
    BudgetFactory(scope="member", team=team, user=member, limit=700)
    body = signed_in(member).get(team_url(team)).content.decode()
    assert "max&#x27;s monthly budget in team Design" in body
    assert "Manage max" not in body


def test_managers_make_see_and_rotate_the_signing_secret_members_never_see_it(
    team, manager, member
):
    url = team_url(team, "team-webhook-secret")
    assert signed_in(member).post(url).status_code == 403

    assert signed_in(manager).post(url).status_code == 302
    team.refresh_from_db()
    first = team.webhook_secret
    assert first.startswith("whsec_")
    assert first in signed_in(manager).get(team_url(team)).content.decode()
    assert first not in signed_in(member).get(team_url(team)).content.decode()

    signed_in(manager).post(url)
    team.refresh_from_db()
    assert team.webhook_secret.startswith("whsec_")
    assert team.webhook_secret != first
    actions = list(
        AuditEvent.objects.filter(target_id=str(team.pk), action__startswith="team.webhook_secret")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["team.webhook_secret_created", "team.webhook_secret_rotated"]
    assert not any(first in str(event.after) for event in AuditEvent.objects.all())
