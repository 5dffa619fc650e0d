"""The detail page, the account pages and the admin reports at phone and laptop sizes, and
the dark theme, in a real browser. No worker: generations are written directly, as the page
tests do."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.services.credits import credits_grant
from accounts.services.keys import api_key_create
from generations.models import Generation
from tests.browser.conftest import assert_fits_the_screen, log_in, new_context, screenshot
from tests.conftest import funded_user
from tests.factories import GenerationFactory, ProviderAccountFactory
from tests.pages.conftest import make_generation
from tests.usage.builders import make_generation as usage_generation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
LONG_PROMPT = (
    "A paper crane on a wooden desk by a window, soft morning light, shallow depth of field, "
    "a cup of tea steaming beside it"
)


def partial_generation(owner) -> Generation:
    """Three images asked, two delivered: the second was refused."""
    generation = make_generation(owner, prompt=LONG_PROMPT, images=3, served_by="ark")
    generation.outputs.filter(index=1).delete()
    Generation.objects.filter(pk=generation.pk).update(
        status=Generation.Status.PARTIAL,
        image_errors=[
            {"index": 1, "code": "content_refused", "message": "The provider refused this image."}
        ],
    )
    return generation


def open_page(browser, live_server, csp_watch, username: str, **options):
    context = new_context(browser, live_server, csp_watch, **options)
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, username)
    return context, page


def test_the_phone_detail_page_shows_prompt_and_actions_first_and_loads_no_original(
    browser, live_server, csp_watch
):
    user = funded_user(1_000)
    make_generation(user, prompt="an older fox", created_days_ago=1)
    generation = partial_generation(user)
    original_paths = [f"/images/{output.pk}/" for output in generation.outputs.all()]
    context, page = open_page(browser, live_server, csp_watch, user.username, viewport=PHONE)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"/generations/{generation.id}/?from=gallery&tab=mine")
    page.wait_for_load_state("networkidle")
    prompt = page.get_by_role("heading", level=1)
    reuse = page.get_by_role("link", name="Reuse settings")
    first_image = page.locator(".output img").first
    expect(first_image).to_be_visible()
    assert prompt.bounding_box()["y"] < first_image.bounding_box()["y"]  # type: ignore[index]
    assert reuse.bounding_box()["y"] < first_image.bounding_box()["y"]  # type: ignore[index]
    expect(page.locator("#image-1")).to_contain_text("The provider refused this image.")
    expect(page.get_by_role("link", name="Next →")).to_be_visible()
    # Previews only: no request fetched an original image file.
    assert not [url for url in requested if any(url.endswith(path) for path in original_paths)]
    assert [url for url in requested if "/thumbnail/" in url]
    assert_fits_the_screen(page)
    screenshot(page, "detail-390x844")

    page.set_viewport_size(LAPTOP)
    page.goto(f"/generations/{generation.id}/?from=gallery&tab=mine")
    assert_fits_the_screen(page)
    table = page.locator("table.attempts")
    box = table.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= LAPTOP["width"]
    screenshot(page, "detail-1280x800", full_page=False)
    context.close()


def test_dark_theme_follows_the_system_and_the_toggle_overrides_it(browser, live_server, csp_watch):
    user = funded_user(1_000)
    make_generation(user)
    context, page = open_page(
        browser, live_server, csp_watch, user.username, viewport=LAPTOP, color_scheme="dark"
    )
    root = page.locator("html")
    expect(root).to_have_attribute("data-scheme", "dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 18, 24)"
    screenshot(page, "dark-workspace-1280x800", full_page=False)

    toggle = page.get_by_role("button", name="Colour theme: auto. Change it")
    toggle.click()
    expect(root).to_have_attribute("data-scheme", "light")
    expect(page.locator("[data-theme-toggle]")).to_have_text("Theme: light")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != background
    page.reload()  # the choice is kept, and applied before the page is painted
    expect(root).to_have_attribute("data-scheme", "light")
    page.locator("[data-theme-toggle]").click()
    expect(root).to_have_attribute("data-scheme", "dark")
    page.locator("[data-theme-toggle]").click()
    expect(root).to_have_attribute("data-theme", "auto")
    expect(root).to_have_attribute("data-scheme", "dark")  # the system's again
    context.close()


def test_account_pages_and_the_menu_fit_a_phone(browser, live_server, csp_watch):
    user = funded_user(0, username="maximiliana-long-name")
    credits_grant(user=user, amount=5_000, actor=None, memo="Welcome to the studio")
    for number in range(4):
        GenerationFactory(
            owner=user,
            prompt=f"https://example.com/a-very-long-unbroken-reference-{number}" * 2,
            model="seedream-4.5",
            num_images=4,
            credits_held=120,
            credits_charged=90,
            status="partial",
            created_at=timezone.now() - timedelta(days=number),
        )
    api_key_create(user=user, name="render farm nightly batch")
    context, page = open_page(browser, live_server, csp_watch, user.username, viewport=PHONE)

    page.goto("/account/credits/")
    expect(page.locator(".userbar .who")).to_be_visible()
    expect(page.locator(".userbar .who")).to_have_text("maximiliana-long-name")
    expect(page.get_by_text("120 held → 90 charged → 30 returned").first).to_be_visible()
    assert_fits_the_screen(page)
    screenshot(page, "credits-390x844")

    menu = page.locator("summary.navmenu-button")
    expect(menu).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Keys")).to_be_hidden()
    menu.click()
    expect(nav.get_by_role("link", name="Keys")).to_be_in_viewport()
    assert_fits_the_screen(page)
    nav.get_by_role("link", name="Keys").click()
    page.wait_for_url("**/account/keys/")
    assert_fits_the_screen(page)
    screenshot(page, "keys-390x844")
    context.close()


def test_admin_reports_fit_a_laptop(browser, live_server, csp_watch):
    staff = funded_user(0, is_staff=True, is_superuser=True)
    owners = [funded_user(50_000, username=name) for name in ("ada", "bob", "cleo")]
    accounts = [
        ProviderAccountFactory(
            kind=kind,
            label="Demo renderer (local)" if kind == "local" else f"{kind} production {number}",
        )
        for number, kind in enumerate(["ark", "byteplus", "replicate", "fal", "local"])
    ]
    for number in range(15):
        account = accounts[number % len(accounts)]
        call = {"account": account, "outcome": "succeeded", "images": 1, "usage": {}}
        call |= {"latency_ms": 900, "error_code": "", "request_id": ""}
        usage_generation(
            owner=owners[number % 3],
            model=["seedream-4.0", "seedream-4.5", "dreamina-3.1"][number % 3],
            num_images=1 + number % 3,
            price=30 + 10 * (number % 4),
            created_at=timezone.now() - timedelta(days=number % 5, hours=1),
            attempts=[call],
        )
    context, page = open_page(browser, live_server, csp_watch, staff.username, viewport=LAPTOP)

    today = timezone.localdate()
    page.goto(
        f"/admin/generations/generation/usage/?start={today - timedelta(days=6)}&end={today}"
        "&group_by=provider_account&group_by=model"
    )
    expect(page.get_by_role("heading", name="Usage report")).to_be_visible()
    expect(page.locator("#usage-table")).to_contain_text("Demo renderer (local)")
    expect(page.locator("#usage-table")).not_to_contain_text("(local) (local)")
    assert_fits_the_screen(page)
    screenshot(page, "usage-1280x800")

    page.goto("/admin/generations/provideraccount/health/")
    disable = page.get_by_role("button", name="Disable").first
    expect(disable).to_be_in_viewport()
    box = disable.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= LAPTOP["width"]
    assert_fits_the_screen(page)
    screenshot(page, "health-1280x800")

    page.goto("/admin/generations/generation/")
    assert_fits_the_screen(page)
    generation = Generation.objects.filter(owner=owners[0]).first()
    assert generation is not None
    page.goto(f"/admin/generations/generation/{generation.pk}/change/")
    assert_fits_the_screen(page)
    screenshot(page, "generation-admin-1280x800", full_page=False)
    context.close()
