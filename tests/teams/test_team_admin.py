"""Teams, budgets and allowances in the admin: every change goes through the services."""

from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Budget, CreditAccount, CreditEntry, Membership, Team
from accounts.services.credits import team_wallet_for
from tests.factories import AllowanceFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

TEAMS_URL = reverse("admin:accounts_team_changelist")
TOKEN = "0123456789abcdef0123456789abcdef"


def grant(client: Client, teams: list[Team], *, amount: object, memo: str) -> Any:
    return client.post(
        TEAMS_URL,
        {
            "action": "grant_credits",
            ACTION_CHECKBOX_NAME: [team.pk for team in teams],
            "apply": "1",
            "amount": amount,
            "memo": memo,
            "request_token": TOKEN,
        },
        follow=True,
    )


def page_messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_grant_action_asks_for_amount_and_memo_first(admin_client: Client, team):
    response = admin_client.post(
        TEAMS_URL, {"action": "grant_credits", ACTION_CHECKBOX_NAME: [team.pk], "index": "0"}
    )
    assert response.status_code == 200
    assert response.templates[0].name == "admin/accounts/team_grant.html"
    assert b'name="memo"' in response.content
    assert b"100,000" in response.content  # the wallet's balance


def test_granting_to_team_wallets_once_with_a_memo(admin_client: Client, admin_user, team):
    other = TeamFactory(name="Video", slug="video")
    response = grant(admin_client, [team, other], amount=2500, memo="Q3 budget")
    assert "Granted credits: Design +2,500 (now 102,500 available)" in page_messages(response)[0]
    assert team_wallet_for(other).available == 2500
    entry = CreditEntry.objects.get(account__team=other, kind="grant")
    assert (entry.actor, entry.memo) == (admin_user, "Q3 budget")
    assert AuditEvent.objects.filter(action="credits.granted", actor=admin_user).count() == 2

    grant(admin_client, [team, other], amount=2500, memo="Q3 budget")  # the same page again
    assert team_wallet_for(other).available == 2500


def test_a_grant_without_a_memo_changes_nothing(admin_client: Client, team):
    response = grant(admin_client, [team], amount=100, memo="  ")
    assert page_messages(response)[0].startswith("Nothing was granted.")
    assert team_wallet_for(team).available == 100_000


def test_creating_a_team_in_the_admin_makes_its_wallet(admin_client: Client, admin_user):
    response = admin_client.post(
        reverse("admin:accounts_team_add"),
        {
            "name": "Print",
            "slug": "print",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": admin_user.pk,
            "memberships-0-role": "owner",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    team = Team.objects.get(slug="print")
    assert CreditAccount.objects.filter(team=team).exists()
    assert Membership.objects.get(team=team).role == "owner"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"team.created", "team.member_set"} <= actions


def test_the_inline_cannot_remove_the_last_owner(admin_client: Client, team, owner):
    membership = Membership.objects.get(team=team, user=owner)
    response = admin_client.post(
        reverse("admin:accounts_team_change", args=[team.pk]),
        {
            "name": "Design",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-0-id": membership.pk,
            "memberships-0-team": team.pk,
            "memberships-0-user": owner.pk,
            "memberships-0-role": "owner",
            "memberships-0-DELETE": "on",
        },
        follow=True,
    )
    assert any("last owner" in message for message in page_messages(response))
    assert Membership.objects.filter(team=team, user=owner).exists()


def test_the_change_page_shows_the_policy_and_links_the_team_page(admin_client: Client, team):
    Team.objects.filter(pk=team.pk).update(max_size_tier="2K")
    body = admin_client.get(reverse("admin:accounts_team_change", args=[team.pk])).content
    assert b'href="/teams/design/"' in body
    assert b"2K" in body
    assert b'name="max_size_tier"' not in body  # changed on the team page, where it is checked


def test_budgets_are_set_and_removed_through_the_service(admin_client: Client, team, member):
    response = admin_client.post(
        reverse("admin:accounts_budget_add"),
        {
            "scope": "member",
            "team": team.pk,
            "user": member.pk,
            "limit": "800",
            "period": "week",
            "thresholds": "[50, 100]",
        },
    )
    assert response.status_code == 302
    budget = Budget.objects.get(scope="member", user=member)
    assert (budget.limit, budget.period, budget.thresholds) == (800, "week", [50, 100])
    assert AuditEvent.objects.filter(action="budget.set").exists()

    admin_client.post(reverse("admin:accounts_budget_delete", args=[budget.pk]), {"post": "yes"})
    assert not Budget.objects.exists()
    assert AuditEvent.objects.filter(action="budget.removed").exists()


def test_allowance_changes_are_audited(admin_client: Client, team):
    allowance = AllowanceFactory(wallet=team_wallet_for(team), amount=1000)
    response = admin_client.post(
        reverse("admin:accounts_allowance_change", args=[allowance.pk]),
        {
            "wallet": allowance.wallet_id,
            "amount": "2000",
            "period": "month",
            "policy": "top_up",
            "active": "on",
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="allowance.set")
    assert event.after["amount"] == "2000"
    assert event.before["amount"] == "1000"


def test_budget_records_are_read_only(admin_client: Client):
    for name in ("budgetspend", "budgethold", "budgetalert"):
        assert admin_client.get(reverse(f"admin:accounts_{name}_changelist")).status_code == 200
        assert admin_client.get(reverse(f"admin:accounts_{name}_add")).status_code == 403


def test_staff_without_the_credit_permission_cannot_grant(team):
    staff = UserFactory(is_staff=True)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_team"))
    client = Client()
    client.force_login(staff)
    response = client.get(TEAMS_URL)
    assert response.status_code == 200
    assert b"grant_credits" not in response.content
