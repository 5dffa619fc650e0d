"""A comparison run in a real browser: one prompt on three models from the workspace, the three
results side by side with each one's cost, time and provider. A live server, a real Celery
worker and the local demo provider."""

import re

import pytest
from playwright.sync_api import expect

from generations.models import Comparison
from tests.browser.conftest import PHONE, assert_fits_the_screen, log_in, new_context, screenshot
from tests.conftest import funded_user

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

RESULT_TIMEOUT_MS = 90_000
LAPTOP = {"width": 1280, "height": 800}
# In the catalog's order, as the form lists them (and so as the columns come).
MODELS = ("Seedream 5.0 Lite", "Seedream 4.0", "Dreamina 3.1")


def test_compare_three_models_side_by_side(
    browser, live_server, csp_watch, worker, local_account, tmp_path
):
    funded_user(50_000, username="mira")
    context = new_context(browser, live_server, csp_watch, viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, "mira")

    page.get_by_role("link", name="Compare models").click()
    expect(page.get_by_role("heading", name="Compare models")).to_be_visible()
    for label in MODELS:
        page.get_by_label(label).check()
    page.get_by_label("Prompt", exact=True).fill("A lighthouse on a cliff at dusk, oil painting")
    assert_fits_the_screen(page)
    screenshot(page, "comparison-new-1280x800", full_page=False)
    page.get_by_role("button", name="Run the comparison").click()
    page.wait_for_url(re.compile(r"/comparisons/[0-9a-f-]+/$"))

    columns = page.locator(".comparison-column")
    expect(columns).to_have_count(3)
    for index, label in enumerate(MODELS):
        column = columns.nth(index)
        expect(column.get_by_role("heading", name=label)).to_be_visible()
        expect(column.locator(".badge")).to_have_text("Succeeded", timeout=RESULT_TIMEOUT_MS)
        expect(column.locator("img")).to_have_count(1)
        expect(column.locator('[data-fact="cost"]')).to_have_text(re.compile(r"^\d+ credits$"))
        expect(column.locator('[data-fact="time"]')).to_have_text(re.compile(r"^\d+(\.\d)? s$"))
        expect(column.locator('[data-fact="provider"]')).to_have_text("Local demo renderer")
        expect(column.locator(".demo-badge")).to_be_visible()
    expect(columns.nth(0).locator('[data-fact="cost"]')).to_have_text("35 credits")
    # Side by side: the three columns share one row at laptop width.
    tops = {round(columns.nth(index).bounding_box()["y"]) for index in range(3)}
    assert len(tops) == 1
    comparison = Comparison.objects.get()
    assert [entry.generation.model for entry in comparison.entries.all()] == [
        "seedream-5.0-lite",
        "seedream-4.0",
        "dreamina-3.1",
    ]
    page.wait_for_function("() => [...document.images].every((image) => image.complete)")
    screenshot(page, "comparison-1280x800", full_page=False)
    assert_fits_the_screen(page)

    phone = new_context(browser, live_server, csp_watch, viewport=PHONE).new_page()
    log_in(phone, "mira")
    phone.goto(page.url)
    expect(phone.locator(".comparison-column")).to_have_count(3)
    assert_fits_the_screen(phone)
    screenshot(phone, "comparison-390x844")
    phone.goto("/prompts/")
    expect(phone.get_by_text("A lighthouse on a cliff at dusk, oil painting")).to_be_visible()
    assert_fits_the_screen(phone)
    screenshot(phone, "prompts-390x844")
    context.close()
