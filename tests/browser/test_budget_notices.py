"""The workspace's budget notice in a real browser: readable and inside the screen on a desktop
and on a phone."""

import pytest
from playwright.sync_api import expect

from accounts.models import Budget
from accounts.services.budget_admin import budget_set
from accounts.services.credits import team_wallet_for
from generations.catalog import GenerationSpec
from generations.services import generation_submit
from tests.browser.conftest import PHONE, assert_fits_the_screen, log_in, screenshot
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_sees_the_teams_budget_notice_on_desktop_and_phone(page, local_account):
    team = TeamFactory(name="Design", slug="design", credits=10_000)
    member = MembershipFactory(team=team, user=UserFactory(username="mira")).user
    budget_set(scope=Budget.Scope.TEAM, team=team, limit=150, actor=None)
    generation_submit(
        user=member,
        spec=GenerationSpec(model="seedream-4.0", prompt="a paper boat", size="1K", num_images=4),
        wallet=team_wallet_for(team),
    )

    log_in(page, "mira")
    notice = page.get_by_role("status", name="Budget alerts")
    expect(notice).to_contain_text("Team Design has used 80% of its monthly budget (120 of 150")
    expect(notice.get_by_role("link", name="See the spending")).to_have_attribute(
        "href", "/teams/design/"
    )
    screenshot(page, "budget-notice-desktop", full_page=False)

    page.set_viewport_size(PHONE)
    page.reload()
    expect(notice).to_be_visible()
    assert_fits_the_screen(page)
    screenshot(page, "budget-notice-phone", full_page=False)
