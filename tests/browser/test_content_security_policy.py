"""The Content-Security-Policy in a real browser: an injected inline script or style is refused
and reported (so the watch every browser test runs under works), json_script data is read
while nothing runs inline, and every admin page keeps to the policy."""

import time

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import ContentSecurityWatch, log_in
from tests.conftest import funded_user
from tests.usage.builders import attempt_spec, make_generation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_for_violations(watch: ContentSecurityWatch, page, count: int) -> None:
    """Reports arrive from the browser asynchronously: wait up to 5 s for ``count`` of them."""
    deadline = time.monotonic() + 5
    while len(watch.violations) < count and time.monotonic() < deadline:
        page.wait_for_timeout(50)


def test_an_injected_inline_script_and_style_are_refused_and_reported(page, csp_watch):
    page.goto("/login/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injectedScriptRan = true;";
            document.body.append(script);
            document.body.setAttribute("style", "background: red");
        }"""
    )
    wait_for_violations(csp_watch, page, 4)

    assert page.evaluate("() => window.injectedScriptRan") is None
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") != (
        "rgb(255, 0, 0)"
    )
    reports = "\n".join(csp_watch.violations)
    assert "event: script-src-elem refused inline" in reports
    assert "event: style-src-attr refused inline" in reports
    assert "console: Executing inline script violates" in reports or (
        "console: Refused to execute inline script" in reports
    )
    assert "console: Applying inline style violates" in reports or (
        "console: Refused to apply inline style" in reports
    )
    # Expected here: without this, the watch fails the test at teardown.
    csp_watch.clear()


def test_json_script_data_is_read_and_nothing_runs_inline(page, local_account):
    funded_user(5_000, username="ines")
    log_in(page, "ines")

    catalog = page.locator("#catalog-data")
    expect(catalog).to_have_attribute("type", "application/json")
    # compose.js reads the models from that block: the note of the chosen model appears.
    page.get_by_label("Model").select_option("seedream-4.0")
    expect(page.locator("#model-note")).to_contain_text("Fast all-rounder")
    expect(page.locator("#quote")).to_contain_text("Balance 5,000")
    # No violation either: the page fixture's watch checks that at teardown.


def test_the_pages_no_other_browser_test_opens_keep_to_the_policy(page, settings, local_account):
    settings.SIGNUP_OPEN = True
    page.goto("/signup/")
    expect(page.get_by_role("heading", name="Sign up")).to_be_visible()

    user = funded_user(5_000, username="tomas")
    generation = make_generation(owner=user, attempts=[attempt_spec(local_account, images=1)])
    log_in(page, "tomas")
    page.goto("/account/keys/")
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    # copy.js shows the Copy button once it runs.
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    for url in (
        "/account/credits/",
        "/boards/",
        reverse("generation-delete", args=[generation.id]),
    ):
        response = page.goto(url)
        assert response is not None
        assert response.ok, url
    response = page.goto("/no/such/page/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_the_admin_pages_keep_to_the_policy(page, local_account):
    staff = funded_user(5_000, username="root", is_staff=True, is_superuser=True)
    # Rows for every list and change page: a generation with its attempt and image, the
    # credit entries and audit events the credit services wrote.
    make_generation(owner=staff, attempts=[attempt_spec(local_account, images=1)])
    log_in(page, "root")

    # Every registered model's list, its first row's change page and its add page.
    as_staff = RequestFactory().get("/admin/")
    as_staff.user = staff
    visited = []
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        visited.append(reverse(f"{prefix}_changelist"))
        first = model_admin.get_queryset(as_staff).first()
        if first is not None:
            visited.append(reverse(f"{prefix}_change", args=[first.pk]))
        if model_admin.has_add_permission(as_staff):
            visited.append(reverse(f"{prefix}_add"))
    visited += [
        reverse("admin:index"),
        reverse("admin:generations_usage_report"),
        reverse("admin:generations_provider_health"),
    ]
    for url in visited:
        response = page.goto(url)
        assert response is not None
        assert response.ok, url
        expect(page.locator("#content")).to_be_visible()

    # The credit action's own page, reached as staff reach it: an action on the user list.
    page.goto(reverse("admin:accounts_user_changelist"))
    page.locator(f"input.action-select[value='{staff.pk}']").check()
    page.locator("select[name='action']").select_option("grant_credits")
    page.locator("button[name='index']").click()
    expect(page.locator("input[name='apply']")).to_have_value("Grant credits")


def test_the_api_docs_show_both_descriptions_under_the_policy(page):
    page.goto("/api/docs/")
    expect(page.get_by_text("/api/v1/generations/{generation_id}/events")).to_be_visible()
    page.locator("#schema-choice").select_option(label="OpenAI-compatible API (/v1/)")
    expect(page.get_by_text("/v1/images/edits")).to_be_visible()
    # The watch every browser test runs under fails the test on any violation.
