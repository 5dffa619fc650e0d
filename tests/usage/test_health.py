"""Provider health per account and the audited enable / disable switch."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from generations.services.provider_accounts import provider_account_set_enabled
from generations.usage.health import provider_health
from tests.factories import ProviderAttemptFactory, UserFactory
from tests.usage.builders import attempt_spec, make_generation

pytestmark = pytest.mark.django_db

HEALTH_URL = reverse("admin:generations_provider_health")


@pytest.fixture
def calls(user, ark, fal) -> None:
    recent = timezone.now() - timedelta(minutes=20)
    earlier = timezone.now() - timedelta(hours=5)
    make_generation(  # ark rate-limits, fal delivers: one failover at ark
        owner=user,
        created_at=recent,
        attempts=[
            attempt_spec(ark, outcome="failed", error_code="rate_limited", latency_ms=400),
            attempt_spec(fal, images=1, latency_ms=8000),
        ],
    )
    make_generation(
        owner=user, created_at=recent, attempts=[attempt_spec(ark, images=1, latency_ms=2000)]
    )
    make_generation(
        owner=user, created_at=earlier, attempts=[attempt_spec(ark, images=1, latency_ms=6000)]
    )
    make_generation(  # two days ago: in no window
        owner=user,
        created_at=timezone.now() - timedelta(days=2),
        attempts=[attempt_spec(ark, images=1)],
    )
    # The router switched fal off itself, and staff switched it back on.
    provider_account_set_enabled(account=fal, enabled=False, actor=None, reason="auth failures")
    provider_account_set_enabled(account=fal, enabled=True, actor=user)


def test_figures_per_account_and_window(calls, ark, fal):
    health = provider_health()
    hour, day = health.windows

    ark_hour = hour.of(ark)
    assert (ark_hour.calls, ark_hour.finished, ark_hour.succeeded) == (2, 2, 1)
    assert (ark_hour.rate_limited, ark_hour.failovers) == (1, 1)
    assert ark_hour.success_percent == 50.0
    assert ark_hour.p50_ms == pytest.approx(1200)
    assert ark_hour.p95_ms == pytest.approx(1920)
    ark_day = day.of(ark)
    assert (ark_day.calls, ark_day.succeeded, ark_day.p50_ms) == (3, 2, 2000)
    fal_day = day.of(fal)
    assert (fal_day.calls, fal_day.succeeded, fal_day.failovers, fal_day.auto_disables) == (
        1,
        1,
        0,
        1,
    )
    assert [account.label for account in health.accounts] == ["Ark (team)", "fal (team)"]


def test_running_calls_count_as_calls_but_not_in_the_success_rate(user, ark):
    generation = make_generation(owner=user, attempts=[attempt_spec(ark, images=1)])
    ProviderAttemptFactory(generation=generation, account=ark)
    figures = provider_health().windows[1].of(ark)
    assert (figures.calls, figures.finished, figures.success_percent) == (2, 1, 100.0)


def test_page_lists_accounts_and_switches_them_with_an_audit_event(
    admin_client, admin_user, calls, ark
):
    page = admin_client.get(HEALTH_URL)
    assert page.status_code == 200
    assert "Ark (team)" in page.content.decode()

    response = admin_client.post(
        HEALTH_URL,
        {"account": ark.pk, "action": "disable", "reason": "billing review"},
        follow=True,
    )

    ark.refresh_from_db()
    assert not ark.enabled
    assert ark.disabled_reason == "billing review"
    event = AuditEvent.objects.get(action="provider_account.disabled", actor=admin_user)
    assert event.target_id == str(ark.pk)
    assert event.after["enabled"] is False
    assert "is disabled" in response.content.decode()

    admin_client.post(HEALTH_URL, {"account": ark.pk, "action": "enable"})
    ark.refresh_from_db()
    assert ark.enabled
    assert AuditEvent.objects.filter(action="provider_account.enabled", actor=admin_user).exists()


def test_switching_needs_the_change_permission(client, ark):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_provideraccount"))
    client.force_login(viewer)
    assert client.get(HEALTH_URL).status_code == 200
    assert client.post(HEALTH_URL, {"account": ark.pk, "action": "disable"}).status_code == 403
    ark.refresh_from_db()
    assert ark.enabled


def test_changelist_actions_write_audit_events(admin_client, admin_user, ark, fal):
    admin_client.post(
        reverse("admin:generations_provideraccount_changelist"),
        {"action": "disable_accounts", "_selected_action": [ark.pk, fal.pk]},
    )
    assert (
        AuditEvent.objects.filter(action="provider_account.disabled", actor=admin_user).count() == 2
    )


def test_the_page_says_when_the_demo_renderer_serves_models(admin_client, local_account, ark):
    # ark serves seedream-4.0; the demo renderer serves every other catalog model.
    body = admin_client.get(HEALTH_URL).content.decode()
    assert "The demo renderer is active." in body
    notice = body[body.index('id="demo-renderer"') : body.index("</section>")]
    assert "Seedream 4.5" in notice
    assert "<code>seedream-4.5</code>" in notice
    assert "<code>seedream-4.0</code>" not in notice
    assert "To turn it off" in notice
    assert reverse("admin:generations_provideraccount_change", args=[local_account.pk]) in notice


def test_the_page_says_the_demo_renderer_is_not_active_when_disabled(admin_client, local_account):
    provider_account_set_enabled(account=local_account, enabled=False, actor=None, reason="off")
    body = admin_client.get(HEALTH_URL).content.decode()
    assert "The demo renderer is active." not in body
    assert "The demo renderer is not active: its account is disabled." in body


def test_the_page_says_the_demo_renderer_is_not_active_when_real_accounts_serve_all(
    admin_client, local_account, ark
):
    ark.models_served = list(local_account.models_served)
    ark.save(update_fields=["models_served"])
    body = admin_client.get(HEALTH_URL).content.decode()
    assert "The demo renderer is active." not in body
    assert "every model it lists has an enabled real account" in body


def test_the_page_says_nothing_of_a_demo_renderer_that_does_not_exist(admin_client, ark):
    assert "demo renderer" not in admin_client.get(HEALTH_URL).content.decode()


@pytest.mark.parametrize("account", ["abc", "²", "9" * 5000, "-1", ""])
def test_switching_an_account_that_is_not_a_number_is_a_404(admin_client, ark, account):
    response = admin_client.post(HEALTH_URL, {"account": account, "action": "disable"})
    assert response.status_code == 404
    ark.refresh_from_db()
    assert ark.enabled
