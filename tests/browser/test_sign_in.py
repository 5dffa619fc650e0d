"""The sign-in pages in Chromium, at desktop and phone width: an invitation accepted from its
mail, sign-in, password reset and change, all in the workspace's look (screenshots under
var/screenshots/sign-in-*.png)."""

from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import CreditEntry, User
from accounts.services.invitations import invitations_create
from tests.browser.conftest import PHONE, assert_fits_the_screen, log_in, new_context, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1280, "height": 800}
NEW_PASSWORD = "a-long-unusual-passphrase"


def _looks_like_the_workspace(page) -> None:
    """The workspace's stylesheet and frame, none of allauth's default markup."""
    expect(page.locator("header.topbar .brand")).to_be_visible()
    expect(page.locator("section.panel.narrow")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(243, 243, 246)"
    expect(page.get_by_text("Menu:")).to_have_count(0)


def test_an_invitation_is_accepted_from_its_mail(browser, live_server, csp_watch):
    invitations_create(
        emails=["kim@example.com"], invited_by=None, credits=300, base_url=live_server.url
    )
    (message,) = mail.outbox
    (link,) = [word for word in message.body.split() if "/invitations/" in word]

    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = new_context(browser, live_server, csp_watch, viewport=viewport)
        page = context.new_page()
        page.goto(urlsplit(link).path)
        expect(page.get_by_role("heading", name="Join Seedream Studio")).to_be_visible()
        _looks_like_the_workspace(page)
        assert_fits_the_screen(page)
        screenshot(page, f"sign-in-invitation-{name}")
        if name == "phone":
            page.get_by_label("Username").fill("kim")
            page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
            page.get_by_label("Password confirmation").fill(NEW_PASSWORD)
            page.get_by_role("button", name="Create my account").click()
            page.wait_for_url(f"{live_server.url}/")
            expect(page.get_by_text("Welcome to Seedream Studio, kim.")).to_be_visible()
            expect(page.locator("#nav-balance")).to_contain_text("300 credits")
        context.close()

    user = User.objects.get(username="kim")
    assert CreditEntry.objects.get(account__user=user).amount == 300


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_sign_in_reset_and_change_pages_look_like_the_workspace(
    browser, live_server, csp_watch, name, viewport
):
    user = UserFactory()
    context = new_context(browser, live_server, csp_watch, viewport=viewport)
    page = context.new_page()
    for path, heading, shot in (
        ("/login/", "Log in", "login"),
        ("/password/reset/", "Password Reset", "reset"),
    ):
        page.goto(path)
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        _looks_like_the_workspace(page)
        assert_fits_the_screen(page)
        screenshot(page, f"sign-in-{shot}-{name}")

    log_in(page, user.username)
    page.goto("/password/change/")
    expect(page.get_by_role("heading", name="Change Password")).to_be_visible()
    _looks_like_the_workspace(page)
    assert_fits_the_screen(page)
    screenshot(page, f"sign-in-change-{name}")
    context.close()
