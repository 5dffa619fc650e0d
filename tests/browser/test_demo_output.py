"""Demo output in a real browser: the detail page names its images placeholders beside them,
and provider health says which models the demo renderer serves. No worker: the generations
are written directly, as the page tests do."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot
from tests.conftest import funded_user
from tests.factories import ProviderAccountFactory
from tests.pages.conftest import make_generation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_detail_page_shows_the_demo_badge_above_the_images(page):
    user = funded_user(1_000)
    demo = make_generation(user, prompt="a lighthouse at dusk", images=2, served_by="local")
    log_in(page, user.username)

    page.goto(f"/generations/{demo.id}/")
    notice = page.get_by_role("note")
    expect(notice).to_contain_text("Demo — placeholder image")
    expect(notice).to_be_visible()
    images = page.locator(".detail-images img").first
    assert notice.bounding_box()["y"] < images.bounding_box()["y"]  # type: ignore[index]
    screenshot(page, "demo-detail")

    page.goto("/gallery/")
    expect(page.locator(".tile .demo-badge")).to_have_count(1)
    page.goto("/")
    expect(page.locator(".card .demo-badge")).to_have_count(1)
    screenshot(page, "demo-workspace")


def test_provider_health_names_the_models_the_demo_renderer_serves(page, local_account):
    ProviderAccountFactory(kind="ark", label="Ark (team)")
    staff = funded_user(0, is_staff=True, is_superuser=True)
    log_in(page, staff.username)

    page.goto("/admin/generations/provideraccount/health/")
    notice = page.locator("#demo-renderer")
    expect(notice).to_contain_text("The demo renderer is active.")
    expect(notice).to_contain_text("seedream-4.5")
    expect(notice).not_to_contain_text("seedream-4.0")
    screenshot(page, "demo-provider-health")
