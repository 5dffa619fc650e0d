"""The page checks of ``test_every_page`` find what they are there to find: a page wider than
the window, a control under another element or out of reach, and axe-core's WCAG violations
(each named by rule, impact, element and help). A clean page passes all three."""

import pytest

from tests.browser.page_audit import (
    axe_install,
    axe_violations,
    page_overflow,
    unreachable_controls,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLEAN = """<!doctype html><html lang="en"><head><title>Clean</title></head><body><main>
<h1>Clean</h1><label for="name">Name</label> <input id="name" name="name">
<button type="submit">Save</button></main></body></html>"""

BROKEN = """<!doctype html><html lang="en"><head><title>Broken</title></head><body><main>
<h1>Broken</h1>
<div style="width: 2000px">a wide banner</div>
<p style="margin-bottom: 40px"><input name="unlabelled"></p>
<div style="position: relative">
  <button type="button" id="covered">Covered</button>
  <div class="overlay" style="position: absolute; inset: -10px; background: white"></div>
</div>
<button type="button" id="offscreen" style="position: absolute; left: -500px">Gone</button>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
</main></body></html>"""


@pytest.fixture
def blank_page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    yield page
    context.close()


def test_a_clean_page_passes(blank_page):
    blank_page.set_content(CLEAN)
    assert page_overflow(blank_page) == ""
    assert unreachable_controls(blank_page) == []
    assert axe_violations(blank_page, axe_install()) == []


def test_each_problem_is_named(blank_page):
    blank_page.set_content(BROKEN)

    overflow = page_overflow(blank_page)
    assert overflow.startswith("the page is 2")
    assert "in a 390px window" in overflow
    assert "div (right edge 20" in overflow

    assert unreachable_controls(blank_page) == [
        'button[type=button] "covered" is covered by div.overlay',
        'button[type=button] "offscreen" cannot be scrolled into the window',
    ]

    violations = {
        violation.rule: violation for violation in axe_violations(blank_page, axe_install())
    }
    assert {"image-alt", "label"} <= set(violations)
    assert violations["image-alt"].impact == "critical"
    assert violations["image-alt"].targets == ["img"]
    assert str(violations["label"]).startswith("label (critical): Form elements must have labels")
