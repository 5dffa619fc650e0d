"""Two-factor authentication and sessions in Chromium, at desktop and phone width: enrolment
with a code computed from the key the page shows (as an authenticator app does), the code asked
after the password at sign-in, and the sessions page, all in the workspace's look (screenshots
under var/screenshots/mfa-*.png)."""

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    PASSWORD,
    PHONE,
    assert_fits_the_screen,
    log_in,
    new_context,
    screenshot,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1280, "height": 800}


def _looks_like_the_workspace(page) -> None:
    expect(page.locator("header.topbar .brand")).to_be_visible()
    expect(page.locator("section.panel.narrow.auth")).to_be_visible()
    assert_fits_the_screen(page)


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_enrol_then_sign_in_with_a_code(browser, live_server, csp_watch, name, viewport):
    user = UserFactory()
    context = new_context(browser, live_server, csp_watch, viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, user.username)

    page.goto("/password/change/")
    page.get_by_role("link", name="Two-factor").click()
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    _looks_like_the_workspace(page)
    screenshot(page, f"mfa-index-{name}")
    page.get_by_role("link", name="Set up an authenticator app").click()
    # The password once more before the account is tied to a phone.
    expect(page.get_by_role("heading", name="Confirm Access")).to_be_visible()
    _looks_like_the_workspace(page)
    screenshot(page, f"mfa-confirm-{name}")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    _looks_like_the_workspace(page)
    screenshot(page, f"mfa-enrol-{name}")
    secret = page.get_by_label("Key").input_value()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    _looks_like_the_workspace(page)
    screenshot(page, f"mfa-recovery-codes-{name}")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    _looks_like_the_workspace(page)
    screenshot(page, f"mfa-code-prompt-{name}")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")

    page.goto("/sessions/")
    expect(page.get_by_role("heading", name="Sessions")).to_be_visible()
    expect(page.get_by_text("This browser")).to_be_visible()
    expect(page.get_by_text("Chrome on Linux")).to_be_visible()
    _looks_like_the_workspace(page)
    screenshot(page, f"mfa-sessions-{name}")
    context.close()
