"""The keys page with teams in Chromium, at desktop and phone width: a key created to charge a
team, its limits page (budget, policy, running limit), and the credits page's budgets and teams
(screenshots under var/screenshots/keys-*.png)."""

import pytest
from playwright.sync_api import expect

from accounts.models import ApiKey, Budget
from accounts.services.budget_admin import budget_set
from tests.browser.conftest import PHONE, assert_fits_the_screen, log_in, new_context, screenshot
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1280, "height": 800}


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_a_key_charged_to_a_team_and_its_limits(browser, live_server, csp_watch, name, viewport):
    user = UserFactory(credits=5000)
    design = TeamFactory(name="Design", slug="design", credits=20_000)
    MembershipFactory(team=design, user=user, role="member")
    ops = TeamFactory(name="Ops", slug="ops", credits=800)
    MembershipFactory(team=ops, user=user, role="manager")
    budget_set(scope=Budget.Scope.USER, user=user, limit=5000, actor=None)
    budget_set(scope=Budget.Scope.MEMBER, team=design, user=user, limit=1200, actor=None)
    context = new_context(browser, live_server, csp_watch, viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, user.username)

    page.goto("/account/keys/")
    page.get_by_label("Name").fill("render farm")
    page.get_by_label("Charge to").select_option(label="Team Design")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("heading", name="Your new key “render farm”")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="render farm")
    expect(row.get_by_role("cell", name="Team Design")).to_be_visible()
    assert ApiKey.objects.get(name="render farm").team == design
    assert_fits_the_screen(page)
    screenshot(page, f"keys-created-{name}")

    page.get_by_role("link", name="Limits of render farm").click()
    expect(page.get_by_role("heading", name="Limits of “render farm”")).to_be_visible()
    page.get_by_label("Credits per period").fill("3000")
    page.get_by_label("Resets").select_option(label="Daily")
    page.get_by_role("button", name="Set budget").click()
    expect(page.get_by_text("0 of 3,000 credits used today")).to_be_visible()
    page.get_by_label("seedream-4.0", exact=False).first.check()
    page.get_by_label("Largest size").select_option(label="Up to 2K")
    page.get_by_label("Running at once").fill("2")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved what “render farm” may do.")).to_be_visible()
    api_key = ApiKey.objects.get(name="render farm")
    assert (api_key.max_size_tier, api_key.max_running) == ("2K", 2)
    assert len(api_key.allowed_models) == 1
    assert_fits_the_screen(page)
    screenshot(page, f"keys-limits-{name}")

    page.goto("/account/keys/")
    row = page.get_by_role("row").filter(has_text="render farm")
    expect(row.get_by_text("3,000 credits daily")).to_be_visible()
    expect(row.get_by_text("2 running at once")).to_be_visible()
    # On a phone each key is a card: its Revoke button is on screen, not past a sideways scroll.
    revoke = row.get_by_role("button", name="Revoke render farm").bounding_box()
    assert revoke is not None
    assert revoke["x"] + revoke["width"] <= viewport["width"]
    assert_fits_the_screen(page)
    screenshot(page, f"keys-list-{name}")

    page.goto("/account/credits/")
    expect(page.get_by_text("0 of 5,000 credits used this month")).to_be_visible()
    expect(page.get_by_text("You: 0 of 1,200 credits used this month")).to_be_visible()
    assert_fits_the_screen(page)
    screenshot(page, f"keys-credits-{name}")
    context.close()
