"""The gallery, a generation's page and boards in a real browser: open the detail, view it in
the lightbox, star, add to boards, download one image and the zip, reuse, use as reference,
share, and filter the gallery. Generations come from a real worker and the local provider."""

import io
import zipfile

import pytest
from playwright.sync_api import expect

from accounts.models import User
from generations.catalog import GenerationSpec
from generations.models import Board, BoardItem, Generation, Star
from generations.services import generation_submit
from tests.browser.conftest import PHONE, assert_fits_the_screen, log_in, screenshot
from tests.conftest import funded_user
from tests.factories import StarFactory
from tests.integration.conftest import wait_for_terminal

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def generate(
    user: User,
    prompt: str,
    *,
    model: str = "seedream-4.0",
    size: str = "1K",
    aspect_ratio: str = "",
    num_images: int = 1,
    visibility: str = Generation.Visibility.PRIVATE,
) -> Generation:
    """Submit through the service, as the page does; the worker takes it from the broker."""
    return generation_submit(
        user=user,
        spec=GenerationSpec(
            model=model,
            prompt=prompt,
            size=size,
            aspect_ratio=aspect_ratio,
            num_images=num_images,
        ),
        visibility=visibility,
    )


def finished(*generations: Generation) -> None:
    for generation in generations:
        wait_for_terminal(generation.id, timeout_s=90)


def test_detail_lightbox_star_board_downloads_reuse(page, worker, local_account):
    user = funded_user(20_000, username="ines")
    generation = generate(
        user, "A paper crane on a desk, soft morning light", aspect_ratio="4:3", num_images=3
    )
    finished(generation)
    log_in(page, "ines")

    page.goto("/gallery/")
    page.locator(".tile-prompt").first.click()
    # Opened within the gallery it came from (its previous/next walk that list).
    page.wait_for_url(f"**/generations/{generation.id}/?from=gallery")
    expect(page.locator(".output")).to_have_count(3)
    expect(page.locator(".facts")).to_contain_text("Seedream 4.0")
    expect(page.locator(".facts")).to_contain_text("1152\N{MULTIPLICATION SIGN}864")
    # A teammate sees the provider's name; which of our accounts served it is for staff.
    expect(page.locator(".attempts")).to_contain_text("Local demo renderer")
    expect(page.locator(".attempts")).not_to_contain_text("Demo renderer (local)")
    screenshot(page, "05-detail")

    # Lightbox: opens on the image, arrows move, Escape closes and focus returns.
    page.locator(".lightbox-trigger").first.click()
    lightbox = page.locator("#lightbox")
    expect(lightbox).to_be_visible()
    expect(page.locator("#lightbox-caption")).to_contain_text("Image 1 of 3")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#lightbox-caption")).to_contain_text("Image 2 of 3")
    screenshot(page, "06-lightbox", full_page=False)
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()

    page.get_by_role("button", name="Star", exact=True).click()
    expect(page.locator(".star-button")).to_have_attribute("aria-pressed", "true")
    assert Star.objects.filter(user=user, generation=generation).exists()

    # The whole generation onto a new board, then one image of it onto the same board.
    side = page.locator(".detail-side .board-add")
    side.locator("summary").click()
    side.get_by_label("Board", exact=True).select_option("")
    side.get_by_label("New board name").fill("Paper things")
    side.get_by_role("button", name="Add").click()
    expect(page.locator(".messages")).to_contain_text("added to “Paper things”")
    second = page.locator("#image-1")
    second.locator("summary").click()
    second.get_by_label("Board", exact=True).select_option(label="Paper things")
    second.get_by_role("button", name="Add").click()
    expect(page.locator(".messages")).to_contain_text("Image 2 added to “Paper things”")
    board = Board.objects.get(owner=user)
    assert BoardItem.objects.filter(board=board).count() == 2

    with page.expect_download() as single:
        page.locator("#image-0").get_by_role("link", name="Download").click()
    assert single.value.suggested_filename.endswith(
        "-01-a-paper-crane-on-a-desk-soft-morning-light.jpg"
    )
    assert single.value.path().read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
    with page.expect_download() as archive:
        page.get_by_role("link", name="Download all (.zip)").click()
    with zipfile.ZipFile(io.BytesIO(archive.value.path().read_bytes())) as bundle:
        assert len(bundle.namelist()) == 3
        assert bundle.testzip() is None

    page.get_by_role("button", name="Share with the team").click()
    expect(page.locator(".messages")).to_contain_text("Shared with the team.")

    # The board, shared with the team from its settings.
    page.get_by_role("link", name="Paper things").click()
    expect(page.locator(".tile")).to_have_count(2)
    page.locator(".board-settings summary").click()
    page.get_by_label("Share with the team").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Shared with the team.")
    screenshot(page, "07-board")
    page.get_by_role("link", name="Boards", exact=True).click()
    expect(page.locator(".board-tile")).to_have_count(1)
    expect(page.locator(".board-tile")).to_contain_text("2 items · shared")
    screenshot(page, "07b-boards")

    # Reuse fills everything; "use as reference" carries the image into the compose form.
    page.goto(f"/generations/{generation.id}/")
    page.get_by_role("link", name="Reuse settings").click()
    expect(page.get_by_label("Prompt")).to_have_value("A paper crane on a desk, soft morning light")
    expect(page.get_by_label("Images", exact=True)).to_have_value("3")
    expect(page.get_by_label("Aspect ratio")).to_have_value("4:3")
    page.goto(f"/generations/{generation.id}/")
    page.locator("#image-2").get_by_role("link", name="Use as reference").click()
    expect(page.locator(".ref-carried:not([hidden])")).to_have_count(1)
    expect(page.locator("#reference-slots")).to_have_text("1 of 14")


def test_gallery_tabs_filters_and_search(page, worker, local_account):
    me = funded_user(20_000, username="ana")
    teammate = funded_user(20_000, username="bo")
    team = Generation.Visibility.TEAM
    mine = [
        generate(me, "Red fox in fresh snow", num_images=2, aspect_ratio="3:2"),
        generate(me, "Blue whale travel poster", model="dreamina-3.1", visibility=team),
        generate(me, "A stormy harbour [fail]"),
    ]
    theirs = [
        generate(
            teammate,
            "Green tea still life",
            model="seedream-3.0-t2i",
            size="1024x1024",
            visibility=team,
        ),
        generate(teammate, "Secret sketch of a robot"),
        generate(teammate, "Neon city at night", aspect_ratio="16:9", visibility=team),
    ]
    finished(*mine, *theirs)
    StarFactory(user=me, generation=mine[0])
    log_in(page, "ana")

    page.goto("/gallery/")
    tiles = page.locator(".tile")
    expect(tiles).to_have_count(3)
    fox = tiles.filter(has_text="Red fox")
    expect(fox).to_contain_text("Seedream 4.0")
    expect(fox).to_contain_text("1248\N{MULTIPLICATION SIGN}832")
    expect(fox).to_contain_text("60 cr")
    expect(fox).to_contain_text("ana")
    expect(fox.locator(".tile-star")).to_be_visible()
    screenshot(page, "08-gallery-mine")

    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Apply").click()
    expect(tiles).to_have_count(1)
    expect(tiles.first).to_contain_text("stormy harbour")
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Search prompts").fill("fox snow")
    page.get_by_label("Search prompts").press("Enter")
    expect(tiles).to_have_count(1)
    expect(tiles.first).to_contain_text("Red fox")

    page.get_by_role("link", name="Team", exact=True).click()
    expect(tiles).to_have_count(3)
    expect(page.locator(".tiles")).not_to_contain_text("Secret sketch")
    page.get_by_label("Made by").select_option(label="bo")
    page.get_by_role("button", name="Apply").click()
    expect(tiles).to_have_count(2)
    page.get_by_label("Model").select_option("seedream-3.0-t2i")
    page.get_by_role("button", name="Apply").click()
    expect(tiles).to_have_count(1)
    expect(tiles.first).to_contain_text("Green tea")
    expect(tiles.first).to_contain_text("bo")
    screenshot(page, "09-gallery-team-filtered")

    page.set_viewport_size(PHONE)
    page.goto("/gallery/?tab=team")
    expect(tiles).to_have_count(3)
    assert_fits_the_screen(page)
    screenshot(page, "10-phone-gallery")
    page.locator(".tile-prompt").first.click()
    expect(page.locator(".output")).to_have_count(1)
    assert_fits_the_screen(page)
