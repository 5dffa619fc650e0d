"""A team's page in Chromium, as a manager: add a member, give them a budget, read the team's
spending; at desktop and phone width (screenshots under var/screenshots/teams-*.png)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Budget, Membership
from accounts.services.credits import team_wallet_for
from tests.browser.conftest import PHONE, assert_fits_the_screen, log_in, new_context, screenshot
from tests.factories import BudgetFactory, MembershipFactory, TeamFactory, UserFactory
from tests.usage.builders import make_generation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def design():
    team = TeamFactory(name="Design", slug="design", credits=48_000)
    owner = UserFactory(username="olga")
    manager = UserFactory(username="mona")
    MembershipFactory(team=team, user=owner, role="owner")
    MembershipFactory(team=team, user=manager, role="manager")
    UserFactory(username="nina", email="nina@example.com")
    BudgetFactory(scope="team", team=team, limit=50_000, period="month")
    BudgetFactory(scope="member", team=team, user=owner, limit=600, period="month")
    wallet = team_wallet_for(team)
    now = timezone.now()
    for hours_ago, user, images, model in (
        (1, owner, 4, "seedream-4.0"),
        (26, owner, 2, "seedream-4.5"),
        (3, manager, 3, "seedream-4.0"),
    ):
        created = max(now - timedelta(hours=hours_ago), now.replace(day=1, hour=0, minute=0))
        make_generation(
            owner=user, wallet=wallet, model=model, num_images=images, created_at=created
        )
    return team


def test_a_manager_adds_a_member_and_sets_their_budget(browser, live_server, csp_watch, design):
    context = new_context(browser, live_server, csp_watch, viewport=DESKTOP)
    page = context.new_page()
    log_in(page, "mona")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Teams").click()
    page.get_by_role("link", name="Design").click()
    expect(page.get_by_role("heading", name="Design", level=1)).to_be_visible()
    expect(page.get_by_text("Team Design, monthly budget")).to_be_visible()

    # A name nobody has: the refusal is next to the field.
    page.get_by_label("Username or email").fill("ghost")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("Nobody here has the username or email “ghost”")).to_be_visible()
    screenshot(page, "teams-add-error-desktop", full_page=False)

    page.get_by_label("Username or email").fill("nina@example.com")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("nina joined team Design as member.")).to_be_visible()
    assert Membership.objects.get(team=design, user__username="nina").role == "member"

    nina = page.locator("li.member", has_text="nina")
    nina.get_by_text("Manage nina").click()
    nina.get_by_label("Limit (credits)").fill("2500")
    nina.get_by_label("Alerts at (%)").fill("50, 100")
    nina.get_by_role("button", name="Save budget").click()
    expect(page.get_by_text("nina's budget is saved.")).to_be_visible()
    budget = Budget.objects.get(scope="member", team=design, user__username="nina")
    assert (budget.limit, budget.thresholds) == (2500, [50, 100])
    expect(page.get_by_text("nina's monthly budget in team Design")).to_be_visible()

    expect(page.locator('[data-member-spent="olga"]')).to_have_text("180")
    expect(page.get_by_label("olga: 30% of their budget")).to_be_visible()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "teams-manager-desktop")
    context.close()

    phone = new_context(browser, live_server, csp_watch, viewport=PHONE)
    page = phone.new_page()
    log_in(page, "mona")
    page.goto("/teams/design/")
    nav = page.get_by_role("navigation", name="Main")
    teams_link = nav.get_by_role("link", name="Teams")
    page.locator("summary.navmenu-button").click()  # on a phone the links are behind "Menu"
    expect(teams_link).to_be_in_viewport()  # the sixth link fits the menu, no sideways scroll
    assert page.evaluate(
        "(nav => nav.scrollWidth <= nav.clientWidth)(document.querySelector('.mainnav'))"
    )
    page.locator("summary.navmenu-button").click()
    bar = page.get_by_label("olga: 30% of their budget").bounding_box()
    assert bar is not None
    assert bar["x"] + bar["width"] <= PHONE["width"]  # the bar column is not scrolled away
    page.locator("li.member", has_text="nina").get_by_text("Manage nina").click()
    assert_fits_the_screen(page)
    screenshot(page, "teams-manager-phone")
    page.goto("/teams/")
    assert_fits_the_screen(page)
    screenshot(page, "teams-index-phone")
    phone.close()
