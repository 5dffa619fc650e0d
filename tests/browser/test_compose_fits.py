"""The compose form fits a laptop screen: at 1280 by 800 every control of every model is one page
scroll away (no scroll box inside the form), the price and Generate stay in view, size chips are
never cut, a refused reference file is named on screen with its reason, and a long unbroken
prompt never widens the phone page."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from generations.catalog import list_models
from tests.browser.conftest import PHONE, assert_fits_the_screen, log_in, new_context, screenshot
from tests.conftest import funded_user, make_png
from tests.factories import MembershipFactory, TeamFactory
from tests.pages.conftest import make_generation

# Working screenshots of states the kept ones (var/screenshots) do not show.
SHOTS = Path("/tmp/shots-compose")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1280, "height": 800}
LONG_URL = "https://example.com/" + "a1b2c3d4e5" * 28  # 300 characters, no break

# For each control of the form shown for the chosen model: scrolled into view as focus or a
# link would, is it inside the window and the topmost thing at its centre (not under the
# sticky top bar or the sticky price footer)? And are the price and Generate in view then?
_REACHABLE = """() => {
  const form = document.getElementById("compose-form");
  const generate = document.getElementById("generate-button");
  const quote = document.getElementById("quote");
  const inView = (node) => {
    const box = node.getBoundingClientRect();
    return box.top >= 0 && box.bottom <= window.innerHeight && box.height > 0;
  };
  const problems = [];
  const controls = Array.from(form.querySelectorAll("input, select, textarea, button"))
    .filter((node) => node.type !== "hidden" && node.getClientRects().length > 0);
  for (const control of controls) {
    control.scrollIntoView();
    const box = control.getBoundingClientRect();
    const name = control.id || control.name || control.textContent.trim();
    if (box.top < 0 || box.bottom > window.innerHeight) {
      problems.push(`${name} is outside the window (top ${Math.round(box.top)})`);
      continue;
    }
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    if (!hit || !(control === hit || control.contains(hit) || hit.control === control)) {
      problems.push(`${name} is covered by ${hit ? hit.tagName + "." + hit.className : "nothing"}`);
    }
    if (!inView(generate) || !inView(quote)) {
      problems.push(`with ${name} in view the price or Generate is not`);
    }
  }
  return { count: controls.length, problems };
}"""

# Anything in the compose panel that scrolls on its own (a nested scroll box).
_SCROLL_BOXES = """() => Array.from(document.querySelectorAll(".compose, .compose *"))
  .filter((node) => {
    const style = getComputedStyle(node);
    const scrolls = (value) => value === "auto" || value === "scroll";
    return (scrolls(style.overflowY) && node.scrollHeight > node.clientHeight + 1)
      || (scrolls(style.overflowX) && node.scrollWidth > node.clientWidth + 1);
  })
  .map((node) => node.tagName + "#" + node.id + "." + node.className)"""

# Size chips cut by their row, the panel, or their own box.
_CLIPPED_CHIPS = """() => {
  const panel = document.querySelector(".compose").getBoundingClientRect();
  return Array.from(document.querySelectorAll("#size-chips .chip"))
    .filter((chip) => chip.getClientRects().length > 0)  // a hidden row (one tier) is not cut
    .filter((chip) => {
      const box = chip.getBoundingClientRect();
      return box.left < panel.left || box.right > panel.right
        || chip.scrollWidth > chip.clientWidth + 1
        || chip.scrollHeight > chip.clientHeight + 1;
    })
    .map((chip) => chip.textContent);
}"""


@pytest.fixture
def teammate(local_account):
    """Someone in a team, so "Charge to" and "Share with" are on the form too."""
    user = funded_user(20_000, username="ines")
    design = TeamFactory(name="Design", slug="design", credits=5_000)
    MembershipFactory(team=design, user=user)
    for index in range(3):
        make_generation(user, prompt=f"a lighthouse at dusk, study {index}", images=2)
    make_generation(user, prompt=LONG_URL, images=1)
    return user


def test_every_control_of_every_model_is_one_page_scroll_away(
    browser, live_server, csp_watch, teammate
):
    context = new_context(browser, live_server, csp_watch, viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, "ines")
    page.get_by_label("Prompt").fill("A lighthouse on a cliff at dusk, oil painting")
    page.get_by_label("Visible to").select_option("team")
    expect(page.get_by_label("Share with")).to_be_visible()
    expect(page.locator("#quote")).to_contain_text("held now")

    for model in list_models():
        page.get_by_label("Model").select_option(model.id)
        expect(page.locator("#size-help")).to_have_text(model.as_dict()["size_help"])
        for label in ["Seed"] * model.supports_seed + ["Guidance scale"] * model.supports_guidance:
            expect(page.get_by_label(label, exact=True)).to_be_visible()
        if model.max_outputs > 1:
            expect(page.get_by_label("Images", exact=True)).to_be_visible()
        if len(model.size_tiers) > 1:
            expect(page.locator("#size-chips .chip")).to_have_count(len(model.size_tiers))

        reach = page.evaluate(_REACHABLE)
        assert reach["count"] >= 8, model.id
        assert reach["problems"] == [], f"{model.label}: {reach['problems']}"
        assert page.evaluate(_SCROLL_BOXES) == [], model.label
        assert page.evaluate(_CLIPPED_CHIPS) == [], model.label

    page.get_by_label("Model").select_option("dreamina-3.1")
    page.get_by_label("Visible to").scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "compose-1280x800-scrolled.png"))
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "compose-1280x800", full_page=False)
    context.close()


def test_refused_reference_files_are_named_beside_the_drop_zone(
    browser, live_server, csp_watch, teammate
):
    context = new_context(browser, live_server, csp_watch, viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, "ines")
    page.get_by_label("Model").select_option("seedream-4.0")
    files = page.locator("#id_references")
    refused = page.locator("#reference-rejected")
    expect(refused).to_be_hidden()

    files.set_input_files(
        [{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a picture"}]
    )
    expect(refused).to_be_visible()
    expect(refused).to_contain_text("notes.txt: not an image. Choose a PNG, JPEG or WebP file.")
    # The same words for a screen reader.
    expect(page.locator("#reference-status")).to_contain_text("notes.txt: not an image")

    huge = {"name": "poster.png", "mimeType": "image/png", "buffer": b"\0" * (11 * 1024 * 1024)}
    files.set_input_files([huge])
    expect(refused).to_contain_text("poster.png: 11.0 MB, over the 10 MB limit")

    page.get_by_label("Model").select_option("seededit-3.0-i2i")
    first = {"name": "one.png", "mimeType": "image/png", "buffer": make_png()}
    second = {"name": "two.png", "mimeType": "image/png", "buffer": make_png()}
    files.set_input_files([first, second])
    expect(page.locator(".ref-upload")).to_have_count(1)
    expect(refused).to_contain_text(
        "two.png: SeedEdit 3.0 takes at most 1 reference image; remove one to add another."
    )
    box = refused.bounding_box()
    zone = page.locator("#dropzone").bounding_box()
    assert box is not None
    assert zone is not None
    assert 0 <= box["y"] - (zone["y"] + zone["height"]) < 40  # right under the drop zone
    # In the window and not under the sticky price footer.
    uncovered = refused.evaluate(
        """(node) => {
          const box = node.getBoundingClientRect();
          const hit = document.elementFromPoint(box.left + 20, box.bottom - 6);
          return box.bottom <= window.innerHeight && node.contains(hit);
        }"""
    )
    assert uncovered
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "refused-files.png"))
    context.close()


def test_a_long_unbroken_prompt_never_widens_the_phone_page(
    browser, live_server, csp_watch, teammate
):
    context = new_context(browser, live_server, csp_watch, viewport=PHONE, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, "ines")
    card_title = page.locator(".card-title", has_text=LONG_URL[:40])
    expect(card_title).to_have_count(1)
    assert_fits_the_screen(page)
    page.get_by_label("Prompt").fill(LONG_URL)
    expect(page.locator("#id_prompt_counter")).to_have_text("300 / 4,000")
    page.get_by_label("Prompt").press("End")  # a key up asks for the price again
    expect(page.locator("#quote")).to_contain_text("held now")
    assert_fits_the_screen(page)
    screenshot(page, "compose-390x844")
    context.close()
