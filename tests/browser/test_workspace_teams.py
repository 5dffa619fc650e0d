"""The workspace for someone in two teams, in a real browser: "Charge to" narrows the model list
to what the team's policy allows without a reload, the price names the team's wallet, and the
generation is charged to that wallet. A live server, a real worker, the local demo provider."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.services.credits import team_wallet_for
from generations.models import Generation
from tests.browser.conftest import PHONE, assert_fits_the_screen, log_in, new_context
from tests.conftest import funded_user
from tests.factories import BudgetFactory, MembershipFactory, TeamFactory
from tests.integration.conftest import wait_for_terminal

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots-workspace")
LAPTOP = {"width": 1280, "height": 900}


def shot(page, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def model_options(page) -> list[str]:
    return page.locator("#id_model option").evaluate_all(
        "(options) => options.map((option) => option.value)"
    )


def test_charge_to_a_team_narrows_the_models_and_charges_its_wallet(
    browser, live_server, csp_watch, worker, local_account
):
    user = funded_user(10_000, username="noor")
    design = TeamFactory(name="Design", slug="design", credits=5_000)
    print_team = TeamFactory(
        name="Print", slug="print", credits=2_000, allowed_models=["seedream-4.0"]
    )
    MembershipFactory(team=design, user=user)
    MembershipFactory(team=print_team, user=user)
    BudgetFactory(team=print_team, limit=1_500, period="month")

    context = new_context(browser, live_server, csp_watch, viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, "noor")

    charge = page.get_by_label("Charge to")
    expect(charge).to_have_value("")
    expect(charge.locator("option")).to_have_text(
        ["My wallet (10,000 credits)", "Team Design (5,000 credits)", "Team Print (2,000 credits)"]
    )
    assert len(model_options(page)) > 1
    page.get_by_label("Model").select_option("seedream-4.5")

    charge.select_option("print")
    # The list follows the wallet at once, and the model not allowed is replaced.
    assert model_options(page) == ["seedream-4.0"]
    expect(page.get_by_label("Model")).to_have_value("seedream-4.0")
    page.get_by_label("Prompt").fill("A poster of a lighthouse, risograph print")
    page.get_by_role("button", name="1K").click()
    quote = page.locator("#quote")
    expect(quote).to_contain_text("Team Print pays: balance 2,000 → 1,970 after this")
    expect(quote).to_contain_text("Team Print, monthly budget: 1,500 of 1,500 credits left")

    # Visible to the team: "Share with" appears, on the charged team.
    share = page.get_by_label("Share with")
    expect(share).to_be_hidden()
    page.get_by_label("Visible to").select_option("team")
    expect(share).to_be_visible()
    expect(share).to_have_value("print")
    page.locator(".compose").evaluate("(panel) => { panel.scrollTop = 0; }")
    shot(page, "01-charge-to-team-1280")
    share.scroll_into_view_if_needed()
    shot(page, "02-share-with-1280")

    page.get_by_role("button", name="Generate").click()
    page.wait_for_url(re.compile(r".*\?reuse="))
    generation = Generation.objects.get(owner=user)
    assert generation.wallet == team_wallet_for(print_team)
    assert generation.shared_team == print_team
    wait_for_terminal(generation.id, timeout_s=90)
    generation.refresh_from_db()
    assert generation.status == Generation.Status.SUCCEEDED
    wallet = team_wallet_for(print_team)
    assert (wallet.available, wallet.held) == (2_000 - generation.credits_charged, 0)
    assert generation.credits_charged == 30
    user.refresh_from_db()
    assert user.charge_to == print_team

    # The choice is remembered on the next visit, and the own wallet is untouched.
    page.goto("/")
    expect(page.get_by_label("Charge to")).to_have_value("print")
    assert model_options(page) == ["seedream-4.0"]
    assert user.credit_account.available == 10_000
    page.get_by_label("Charge to").select_option("")
    assert len(model_options(page)) > 1
    expect(page.locator("#quote")).to_contain_text("My wallet pays")

    # The gallery: a tab per team; the generation is on its team's tab, not on "Everyone".
    page.goto("/gallery/")
    page.get_by_role("link", name="Team Print", exact=True).click()
    expect(page.locator(".result-count")).to_have_text("1 generation shared with team Print")
    shot(page, "04-gallery-team-tab-1280")
    page.get_by_role("link", name="Everyone", exact=True).click()
    expect(page.locator(".result-count")).to_have_text("0 generations shared with everyone here")
    page.goto("/boards/")
    page.get_by_label("Board name").fill("Print picks")
    page.get_by_label("Share with the team").check()
    page.get_by_label("Share with", exact=True).select_option("print")
    shot(page, "05-board-share-with-1280")
    page.get_by_role("button", name="Create board").click()
    expect(page.locator(".page-head .muted")).to_contain_text("Shared with team Print")
    context.close()

    phone = new_context(browser, live_server, csp_watch, viewport=PHONE)
    page = phone.new_page()
    page.set_default_timeout(20_000)
    log_in(page, "noor")
    expect(page.get_by_label("Charge to")).to_have_value("print")
    page.get_by_label("Model").select_option("seedream-4.0")
    page.get_by_label("Prompt").fill("A poster of a lighthouse")
    page.get_by_label("Visible to").select_option("team")
    expect(page.locator("#quote")).to_contain_text("held now")
    expect(page.locator("#quote")).to_contain_text("Team Print pays")
    assert_fits_the_screen(page)
    shot(page, "03-charge-to-team-390", full_page=True)
    page.goto("/gallery/?tab=team&team=print")
    expect(page.locator(".result-count")).to_contain_text("shared with team Print")
    assert_fits_the_screen(page)
    shot(page, "06-gallery-team-tab-390")
    phone.close()
