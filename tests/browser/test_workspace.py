"""The workspace in a real browser: compose with references, watch the result arrive, and
see a failure explained. A live server, a real Celery worker and the local demo provider."""

import re

import pytest
from playwright.sync_api import expect

from generations.models import Generation
from tests.browser.conftest import (
    PHONE,
    assert_fits_the_screen,
    log_in,
    new_context,
    screenshot,
)
from tests.conftest import funded_user, make_png
from tests.integration.conftest import wait_for_terminal

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

RESULT_TIMEOUT_MS = 90_000


def drop_file(page, selector: str, name: str, content: bytes) -> None:
    """Drop a file on ``selector`` as a drag from the desktop would (a DataTransfer drop)."""
    page.evaluate(
        """([selector, name, bytes]) => {
            const file = new File([new Uint8Array(bytes)], name, { type: "image/png" });
            const transfer = new DataTransfer();
            transfer.items.add(file);
            const target = document.querySelector(selector);
            for (const type of ["dragenter", "dragover", "drop"]) {
                const init = { bubbles: true, cancelable: true, dataTransfer: transfer };
                target.dispatchEvent(new DragEvent(type, init));
            }
        }""",
        [selector, name, list(content)],
    )


def test_compose_with_references_and_watch_the_result_arrive(page, worker, local_account, tmp_path):
    local_account.options = {"latency_s": 4}
    local_account.save()
    user = funded_user(50_000, username="mira")
    log_in(page, "mira")

    page.get_by_label("Model").select_option("seedream-4.0")
    expect(page.locator("#model-note")).to_contain_text("Fast all-rounder")
    page.get_by_label("Prompt").fill("A lighthouse on a cliff at dusk, oil painting")
    page.get_by_role("button", name="1K").click()
    expect(page.locator("#size-resolved")).to_contain_text("1024\N{MULTIPLICATION SIGN}1024")
    page.get_by_label("Aspect ratio").select_option("4:3")
    expect(page.locator("#size-resolved")).to_contain_text("1152\N{MULTIPLICATION SIGN}864")
    page.get_by_label("Images", exact=True).fill("2")

    # One reference chosen with the file picker, one dropped on the zone, then one removed.
    picked = tmp_path / "sky.png"
    picked.write_bytes(make_png(320, 240, (40, 90, 200)))
    page.locator("#id_references").set_input_files(str(picked))
    drop_file(page, "#dropzone", "sunset.png", make_png(300, 300, (230, 120, 40)))
    expect(page.locator(".ref-upload")).to_have_count(2)
    expect(page.locator("#reference-slots")).to_have_text("2 of 14")
    page.get_by_role("button", name="Remove reference sky.png").click()
    expect(page.locator(".ref-upload")).to_have_count(1)
    expect(page.locator("#reference-slots")).to_have_text("1 of 14")

    # The live price and the balance it comes from.
    expect(page.locator("#quote")).to_contain_text("held now")
    expect(page.locator("#quote")).to_contain_text("Balance 50,000")
    screenshot(page, "01-compose-filled")

    page.get_by_role("button", name="Generate").click()
    page.wait_for_url(re.compile(r".*\?reuse="))
    generation = Generation.objects.get(owner=user)
    card = page.locator(f"#generation-{generation.id}")
    expect(card).to_be_visible()
    expect(card.locator(".badge")).to_have_text("Running", timeout=RESULT_TIMEOUT_MS)
    expect(card.locator("progress")).to_be_visible()
    expect(card.locator(".thumb.placeholder")).to_have_count(2)
    expect(card).to_contain_text("0 of 2 images")
    expect(card).to_contain_text("Holding 60 credits")
    screenshot(page, "02-workspace-in-progress")

    expect(card.locator(".badge")).to_have_text("Succeeded", timeout=RESULT_TIMEOUT_MS)
    expect(card.locator(".thumb img")).to_have_count(2)
    expect(card).to_contain_text("Cost")
    finished = wait_for_terminal(generation.id, timeout_s=5)
    assert finished.status == Generation.Status.SUCCEEDED
    assert finished.references.count() == 1
    # The balance in the top bar caught up with the settlement without a reload.
    expect(page.locator("#nav-balance")).to_have_text(
        f"{50_000 - finished.credits_charged:,} credits"
    )

    # The form is still filled for the next variation, the dropped reference included.
    expect(page.get_by_label("Prompt")).to_have_value(
        "A lighthouse on a cliff at dusk, oil painting"
    )
    expect(page.get_by_label("Model")).to_have_value("seedream-4.0")
    expect(page.locator(".ref-carried:not([hidden])")).to_have_count(1)
    expect(page.locator("#reference-slots")).to_have_text("1 of 14")
    screenshot(page, "03-workspace-result")


def test_a_failure_says_why_and_that_the_credits_came_back(page, worker, local_account):
    user = funded_user(10_000, username="olu")
    log_in(page, "olu")
    page.set_viewport_size(PHONE)
    page.get_by_label("Model").select_option("seedream-4.0")
    page.get_by_label("Prompt").fill("A stormy harbour [fail]")
    page.get_by_role("button", name="1K").click()
    page.get_by_role("button", name="Generate").click()
    page.wait_for_url(re.compile(r".*\?reuse="))

    generation = Generation.objects.get(owner=user)
    card = page.locator(f"#generation-{generation.id}")
    expect(card.locator(".badge")).to_have_text("Failed", timeout=RESULT_TIMEOUT_MS)
    failed = wait_for_terminal(generation.id, timeout_s=5)
    expect(card.locator(".failure")).to_contain_text(failed.error_message)
    expect(card.locator(".failure")).to_contain_text(
        f"The {failed.credits_held:,} credits held for it were returned to your balance."
    )
    expect(page.locator("#nav-balance")).to_have_text("10,000 credits")
    card.scroll_into_view_if_needed()
    assert_fits_the_screen(page)
    screenshot(page, "04-phone-failure", full_page=False)


def test_the_basic_flow_works_without_javascript(
    browser, live_server, csp_watch, worker, local_account
):
    """No script at all: the plain form submits, a reload shows the result, and a star is a
    plain POST. (The live parts are conveniences, not requirements.)"""
    user = funded_user(10_000, username="noor")
    context = new_context(
        browser, live_server, csp_watch, viewport=PHONE, java_script_enabled=False
    )
    page = context.new_page()
    try:
        log_in(page, "noor")
        page.get_by_label("Model").select_option("seedream-4.0")
        page.get_by_label("Prompt").fill("A quiet library, morning light")
        page.get_by_label("Size", exact=True).fill("1K")
        page.get_by_role("button", name="Generate").click()
        page.wait_for_url(re.compile(r".*\?reuse="))
        generation = wait_for_terminal(Generation.objects.get(owner=user).id, timeout_s=90)
        page.reload()
        card = page.locator(f"#generation-{generation.id}")
        expect(card.locator(".badge")).to_have_text("Succeeded")
        expect(page.get_by_label("Prompt")).to_have_value("A quiet library, morning light")
        card.get_by_role("link", name="Details").click()
        page.get_by_role("button", name="Star", exact=True).click()
        expect(page.locator(".star-button")).to_have_attribute("aria-pressed", "true")
        assert_fits_the_screen(page)
        screenshot(page, "11-phone-detail-without-javascript")
    finally:
        context.close()
