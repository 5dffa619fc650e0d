"""Single sign-on in Chromium against a real OpenID provider on loopback (oidc-provider from
npm, tests/oidc_provider): its login form filled in like a person would, at desktop and phone
width (screenshots under var/screenshots/sso-*.png)."""

import pytest
from allauth.socialaccount.models import SocialAccount
from playwright.sync_api import expect

from accounts.models import CreditEntry, Invitation, User
from accounts.services.invitations import invitations_create
from tests.browser.conftest import PHONE, assert_fits_the_screen, new_context, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP = {"width": 1280, "height": 800}


def _sign_in_with_sso(page, live_server, login: str) -> None:
    """From the site's sign-in page through the provider's login form, back to the site."""
    page.goto("/login/")
    page.get_by_role("button", name="Sign in with Team SSO").click()
    if page.locator("input[name=login]").count():  # no session at the provider yet
        page.locator("input[name=login]").fill(login)
        page.locator("input[name=password]").fill("any password")
        page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(f"{live_server.url}/**")


def test_first_sign_in_creates_the_account_and_the_next_one_finds_it(
    browser, live_server, csp_watch, sso_app
):
    context = new_context(browser, live_server, csp_watch, viewport=DESKTOP)
    page = context.new_page()
    page.goto("/login/")
    expect(page.get_by_role("button", name="Sign in with Team SSO")).to_be_visible()
    expect(page.locator("header.topbar .brand")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(243, 243, 246)"
    screenshot(page, "sso-login-desktop")

    _sign_in_with_sso(page, live_server, "ana")
    expect(page.locator(".userbar .who")).to_have_text("ana")
    user = User.objects.get(email="ana@team.test")
    assert not user.has_usable_password()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    _sign_in_with_sso(page, live_server, "ana")
    expect(page.locator(".userbar .who")).to_have_text("ana")
    context.close()

    # A new browser, a new session at the provider: the same account again.
    context = new_context(browser, live_server, csp_watch, viewport=PHONE)
    page = context.new_page()
    _sign_in_with_sso(page, live_server, "ana")
    expect(page.locator(".userbar .who")).to_have_text("ana")
    context.close()
    assert User.objects.filter(email="ana@team.test").count() == 1
    assert list(SocialAccount.objects.values_list("user_id", "uid")) == [(user.pk, "ana")]


def test_an_existing_account_is_linked_through_its_verified_address(
    browser, live_server, csp_watch, sso_app
):
    ben = UserFactory(username="benjamin", email="ben@team.test")
    context = new_context(browser, live_server, csp_watch, viewport=DESKTOP)
    page = context.new_page()
    _sign_in_with_sso(page, live_server, "ben")
    expect(page.locator(".userbar .who")).to_have_text("benjamin")
    context.close()
    assert SocialAccount.objects.get().user_id == ben.pk
    assert User.objects.count() == 1


def test_an_invitation_is_accepted_by_single_sign_on(browser, live_server, csp_watch, sso_app):
    invitations_create(
        emails=["kim@elsewhere.test"], invited_by=None, credits=300, base_url=live_server.url
    )
    context = new_context(browser, live_server, csp_watch, viewport=DESKTOP)
    page = context.new_page()
    _sign_in_with_sso(page, live_server, "kim")
    expect(page.locator("#nav-balance")).to_contain_text("300 credits")
    context.close()
    user = User.objects.get(email="kim@elsewhere.test")
    assert CreditEntry.objects.get(account__user=user).amount == 300
    assert Invitation.objects.get().accepted_user == user


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_an_address_on_another_domain_is_refused(
    browser, live_server, csp_watch, sso_app, name, viewport
):
    context = new_context(browser, live_server, csp_watch, viewport=viewport)
    page = context.new_page()
    _sign_in_with_sso(page, live_server, "olga")
    expect(page.get_by_role("heading", name="You cannot sign in here yet")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("no account for olga@elsewhere.test")
    assert_fits_the_screen(page)
    screenshot(page, f"sso-refused-{name}")
    context.close()
    assert not User.objects.exists()


def test_with_sso_only_the_password_form_is_for_staff(
    browser, live_server, csp_watch, sso_app, settings
):
    settings.SSO_ONLY = True
    UserFactory(username="rita")
    context = new_context(browser, live_server, csp_watch, viewport=PHONE)
    page = context.new_page()
    page.goto("/login/")
    expect(page.get_by_role("button", name="Sign in with Team SSO")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_hidden()
    assert_fits_the_screen(page)
    screenshot(page, "sso-only-login-phone")
    page.get_by_text("Staff: log in with a password").click()
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Passwords are for staff here")).to_be_visible()
    context.close()
