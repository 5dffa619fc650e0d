"""Every admin list and report renders in a fixed number of queries, however much data there is.

Each page is measured on the seeded demo history, then again after more users, keys, provider
accounts, generations and audit events were added: the count must not move, and must stay at
or under its pinned budget.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services.credits import credits_grant, team_wallet_for
from generations.models import Generation
from tests.conftest import funded_user
from tests.factories import (
    AllowanceFactory,
    ApiKeyFactory,
    BudgetFactory,
    InvitationFactory,
    MembershipFactory,
    ProviderAccountFactory,
    TeamFactory,
)
from tests.usage.builders import attempt_spec, make_generation

pytestmark = pytest.mark.django_db

# Measured on SQLite and PostgreSQL, plus one: each includes the session and user lookups.
BUDGETS = {
    "accounts.user": 7,
    "accounts.apikey": 6,
    "accounts.creditaccount": 6,
    "accounts.creditentry": 9,
    "accounts.modelprice": 7,
    "accounts.auditevent": 11,
    "accounts.invitation": 6,
    "accounts.team": 6,
    "accounts.budget": 6,
    "accounts.budgetspend": 6,
    "accounts.budgethold": 6,
    "accounts.budgetalert": 6,
    "accounts.allowance": 6,
    "generations.generation": 10,
    "generations.providerattempt": 10,
    "generations.provideraccount": 6,
    # One more than before teams: the report's team filter lists the teams.
    "usage_report": 11,
    "usage_report_by_provider_and_day": 12,
    "provider_health": 10,
    "generation_detail": 11,
}


def page_urls() -> dict[str, str]:
    urls = {
        model._meta.label_lower: reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        )
        for model in admin.site._registry
        if model._meta.app_label in ("accounts", "generations")
    }
    today = timezone.localdate()
    span = f"start={(today - timedelta(days=29)).isoformat()}&end={today.isoformat()}"
    report = reverse("admin:generations_usage_report")
    urls["usage_report"] = f"{report}?{span}&group_by=user&group_by=model"
    urls["usage_report_by_provider_and_day"] = (
        f"{report}?{span}&group_by=api_key&group_by=provider_account&group_by=day"
    )
    urls["provider_health"] = reverse("admin:generations_provider_health")
    generation = Generation.objects.order_by("created_at").first()
    assert generation is not None
    urls["generation_detail"] = reverse("admin:generations_generation_change", args=[generation.pk])
    return urls


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def grow() -> None:
    """More of everything a list shows a row or a filter choice for."""
    for number in range(3):
        owner = funded_user(10_000)
        key = ApiKeyFactory(user=owner, name=f"key {number}")
        account = ProviderAccountFactory(kind="fal", label=f"More fal {number}")
        for _ in range(5):
            make_generation(
                owner=owner,
                api_key=key,
                model="seedream-4.5",
                created_at=timezone.now() - timedelta(days=number + 1),
                attempts=[attempt_spec(account, images=1, usage={"generated_images": 1})],
            )
        credits_grant(user=owner, amount=10, actor=None, memo="more audit events")
        InvitationFactory(email=f"invited{number}@example.com", invited_by=owner)
        # Teams with members, budgets, allowances and generations charged to their wallets.
        team = TeamFactory(credits=1_000)
        MembershipFactory(team=team, user=owner)
        BudgetFactory(team=team)
        AllowanceFactory(wallet=team_wallet_for(team))
        make_generation(owner=owner, wallet=team_wallet_for(team))


def test_every_admin_page_stays_within_its_query_budget(admin_client: Client, seeded):
    urls = page_urls()
    assert set(urls) == set(BUDGETS), "pin a budget for every admin list"
    for url in urls.values():  # warm the per-process caches (content types, permissions)
        count_queries(admin_client, url)
    before = {name: count_queries(admin_client, url) for name, url in urls.items()}

    grow()
    after = {name: count_queries(admin_client, url) for name, url in urls.items()}

    assert after == before
    over = {name: count for name, count in after.items() if count > BUDGETS[name]}
    assert not over, f"over budget: {over} (budgets {BUDGETS})"
