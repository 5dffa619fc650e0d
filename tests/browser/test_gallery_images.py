"""The gallery's view of images in a real browser: justified rows without ragged gaps whatever
the aspect ratios, the lightbox from a tile with the keyboard, a selection by Shift-click and
keys acted on in bulk, the next page loaded by scrolling, and what the page weighs.

Images are real JPEG files made here (no worker needed): 9:21, 21:9 and 1:1 side by side.
"""

import io
import itertools

import pytest
from PIL import Image, ImageDraw

from accounts.models import User
from generations.models import Generation, Star
from tests.browser.conftest import PHONE, assert_fits_the_screen, log_in, screenshot
from tests.factories import GenerationFactory, OutputImageFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1280, "height": 800}
# (width, height): Dreamina's 9:21, its 21:9, and a square.
SHAPES = [(864, 2016), (2016, 864), (1024, 1024)]
GUTTER_PX = 8
PAGE_BYTES_MAX = 2.5 * 1024 * 1024


def photo(width: int, height: int, seed: int) -> bytes:
    """A JPEG with gradients and shapes, so it compresses roughly like a rendered image."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for step in range(12):
        x = (seed * 97 + step * 131) % width
        y = (seed * 53 + step * 89) % height
        radius = 40 + (step * 37 + seed) % 200
        color = ((seed * 40 + step * 20) % 255, (step * 60) % 255, (seed * 15) % 255)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=color)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def images_of(owner: User, count: int, *, prompt: str = "harbour") -> list[Generation]:
    made = []
    for number in range(count):
        width, height = SHAPES[number % len(SHAPES)]
        generation = GenerationFactory(
            owner=owner,
            prompt=f"{prompt} {number}",
            model="dreamina-3.1",
            status=Generation.Status.SUCCEEDED,
            num_images=1,
            through_ledger=False,
        )
        OutputImageFactory(
            generation=generation,
            index=0,
            file=f"outputs/{generation.pk}-0.jpg",
            thumbnail=f"thumbnails/{generation.pk}-0.jpg",
            content=photo(width, height, number),
            width=width,
            height=height,
            format="jpeg",
        )
        made.append(generation)
    return made


def tile_boxes(page) -> list[dict]:
    return page.eval_on_selector_all(
        "#image-tiles .image-tile",
        """(tiles) => tiles.map((tile) => {
            const box = tile.getBoundingClientRect();
            return {top: box.top + scrollY, bottom: box.bottom + scrollY, left: box.left,
                    right: box.right};
        })""",
    )


def assert_no_ragged_gaps(boxes: list[dict]) -> None:
    """Rows of equal-height tiles, one gutter apart, one gutter between neighbours."""
    rows: list[list[dict]] = []
    for box in boxes:
        if rows and abs(rows[-1][0]["top"] - box["top"]) < 1:
            rows[-1].append(box)
        else:
            rows.append([box])
    assert len(rows) > 1
    for row in rows:
        heights = {round(box["bottom"] - box["top"]) for box in row}
        assert max(heights) - min(heights) <= 1, f"a row of unequal heights: {heights}"
        for left, right in itertools.pairwise(row):
            assert right["left"] - left["right"] <= GUTTER_PX + 1
    for above, below in itertools.pairwise(rows):
        gap = below[0]["top"] - max(box["bottom"] for box in above)
        assert gap <= GUTTER_PX + 1, f"{gap:.0f}px between rows"


def all_previews_loaded(page) -> None:
    """Scroll tile by tile so each lazy preview loads, and wait until every one has."""
    height = page.evaluate("() => document.documentElement.scrollHeight")
    for top in range(0, height + 400, 400):
        page.evaluate("(top) => window.scrollTo(0, top)", top)
        page.wait_for_timeout(60)
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('#image-tiles img'))
            .every((img) => img.complete && img.naturalWidth > 0)"""
    )


@pytest.fixture
def owner() -> User:
    return UserFactory(username="ines")


def test_mixed_aspect_ratios_leave_no_gaps_and_the_lightbox_pages(page, owner):
    generations = images_of(owner, 12)
    log_in(page, "ines")
    page.set_viewport_size(LAPTOP)
    page.goto("/gallery/?view=images")
    # Shaped before any image arrives: the layout does not move as they load.
    before = tile_boxes(page)
    all_previews_loaded(page)
    page.evaluate("window.scrollTo(0, 0)")
    after = tile_boxes(page)
    assert [round(box["bottom"] - box["top"]) for box in before] == [
        round(box["bottom"] - box["top"]) for box in after
    ]
    assert_no_ragged_gaps(after)
    sources = page.eval_on_selector_all(
        "#image-tiles img", "(images) => images.map((i) => i.currentSrc)"
    )
    assert all("/preview-" in source and source.endswith(".webp") for source in sources)
    screenshot(page, "gallery-images-1280x800")

    # The lightbox: from a tile, through the results with the arrows, closed with Escape.
    tiles = page.locator("#image-tiles .image-tile-open")
    tiles.nth(0).click()
    viewer = page.locator("#lightbox")
    lightbox_image = page.locator("#lightbox-image")
    assert viewer.is_visible()
    newest = generations[-1].outputs.get()
    assert lightbox_image.get_attribute("src").endswith(f"/images/{newest.pk}/")
    page.keyboard.press("ArrowRight")
    second = generations[-2].outputs.get()
    assert lightbox_image.get_attribute("src").endswith(f"/images/{second.pk}/")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert lightbox_image.get_attribute("src").endswith(
        f"/images/{generations[0].outputs.get().pk}/"
    )
    page.keyboard.press("Escape")
    assert not viewer.is_visible()

    # Quick actions show on keyboard focus, not only on hover.
    tiles.nth(1).focus()
    actions = page.locator("#image-tiles .image-tile").nth(1).locator(".image-tile-actions")
    page.wait_for_function(
        "(node) => getComputedStyle(node).opacity === '1'", arg=actions.element_handle()
    )

    page.set_viewport_size(PHONE)
    page.goto("/gallery/?view=images")
    all_previews_loaded(page)
    page.evaluate("window.scrollTo(0, 0)")
    assert_fits_the_screen(page)
    assert_no_ragged_gaps(tile_boxes(page))
    screenshot(page, "gallery-images-390x844")


def test_a_page_of_60_tiles_weighs_under_the_budget(page, owner):
    images_of(owner, 60)
    log_in(page, "ines")
    page.set_viewport_size(LAPTOP)
    downloaded: dict[str, int] = {}

    def count(response) -> None:
        try:
            downloaded[response.url] = len(response.body())
        except Exception:  # a redirect or an aborted request has no body
            downloaded.setdefault(response.url, 0)

    page.on("response", count)
    page.goto("/gallery/?view=images")
    all_previews_loaded(page)
    page.wait_for_load_state("networkidle")
    assert page.locator("#image-tiles .image-tile").count() == 60
    previews = [url for url in downloaded if "/preview-" in url]
    assert len(previews) == 60
    assert not [url for url in downloaded if url.rstrip("/").split("/")[-2] == "images"]
    total = sum(downloaded.values())
    print(f"the page and its previews: {total:,} bytes in {len(downloaded)} responses")
    assert total < PAGE_BYTES_MAX


def test_shift_click_and_keys_select_a_range_and_bulk_star_works(page, owner):
    generations = images_of(owner, 9)
    log_in(page, "ines")
    page.set_viewport_size(LAPTOP)
    page.goto("/gallery/?view=images")
    tiles = page.locator("#image-tiles .image-tile")
    tiles.nth(0).locator(".image-tile-select input").check()
    tiles.nth(3).locator(".image-tile-open").click(modifiers=["Shift"])
    count = page.locator("#bulk-count")
    assert count.text_content() == "4 images selected"
    # Space toggles the focused tile; Shift+arrow extends the range from the last one chosen.
    tiles.nth(5).locator(".image-tile-open").focus()
    page.keyboard.press("Space")
    assert count.text_content() == "5 images selected"
    page.keyboard.press("Shift+ArrowRight")
    assert tiles.nth(6).evaluate("(tile) => tile.classList.contains('is-selected')")
    assert not page.locator("#lightbox").is_visible()
    screenshot(page, "gallery-bulk-selection-1280x800", full_page=False)
    chosen = page.eval_on_selector_all(
        "#image-tiles .image-tile.is-selected", "(tiles) => tiles.map((t) => t.dataset.generation)"
    )
    assert len(chosen) == 2  # after Shift+arrow, the range from tile 5 to tile 6
    page.locator("#bulk-form").get_by_role("button", name="Star", exact=True).click()
    page.wait_for_url("**/gallery/?view=images")
    assert "Starred 2 images." in page.locator(".messages").text_content()
    starred = {
        str(pk) for pk in Star.objects.filter(user=owner).values_list("generation_id", flat=True)
    }
    assert starred == set(chosen)
    assert len(generations) == 9


def test_the_delete_dialog_asks_once(page, owner):
    generations = images_of(owner, 3)
    log_in(page, "ines")
    page.goto("/gallery/?view=images")
    tiles = page.locator("#image-tiles .image-tile")
    tiles.nth(0).locator(".image-tile-select input").check()
    tiles.nth(1).locator(".image-tile-select input").check()
    page.get_by_role("button", name="Delete…").click()
    dialog = page.locator("#bulk-delete-dialog")
    assert dialog.is_visible()
    assert "Delete 2 images?" in dialog.text_content()
    dialog.get_by_role("button", name="Delete", exact=True).click()
    page.wait_for_url("**/gallery/?view=images")
    assert Generation.objects.filter(deleted_at__isnull=False).count() == 2
    assert page.locator("#image-tiles .image-tile").count() == 1
    assert len(generations) == 3


def test_scrolling_loads_the_next_page(page, owner):
    images_of(owner, 66)
    log_in(page, "ines")
    page.set_viewport_size(LAPTOP)
    page.goto("/gallery/?view=images")
    tiles = page.locator("#image-tiles .image-tile")
    assert tiles.count() == 60
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function(
        "() => document.querySelectorAll('#image-tiles .image-tile').length === 66"
    )
    assert page.locator("#gallery-more").count() == 0
    ids = page.eval_on_selector_all(
        "#image-tiles .image-tile", "(t) => t.map((x) => x.dataset.output)"
    )
    assert len(set(ids)) == 66
    assert_no_ragged_gaps(tile_boxes(page))


def test_the_recent_strip_and_the_generations_view_have_even_rows(page, owner):
    images_of(owner, 6)
    log_in(page, "ines")
    page.set_viewport_size(LAPTOP)
    for url, selector in (("/", "#recent-cards .card"), ("/gallery/", ".tiles .tile")):
        page.goto(url)
        boxes = page.eval_on_selector_all(
            selector,
            """(items) => items.map((item) => {
                const box = item.getBoundingClientRect();
                return {top: Math.round(box.top), height: Math.round(box.height)};
            })""",
        )
        rows: dict[int, set[int]] = {}
        for box in boxes:
            rows.setdefault(box["top"], set()).add(box["height"])
        assert len(boxes) == 6
        assert all(len(heights) == 1 for heights in rows.values()), (url, rows)
    media = page.goto("/") and page.eval_on_selector_all(
        "#recent-cards .card-media",
        "(items) => items.map((m) => Math.round(m.getBoundingClientRect().height))",
    )
    assert len(set(media)) == 1
    screenshot(page, "workspace-recent-even-rows-1280x800")
