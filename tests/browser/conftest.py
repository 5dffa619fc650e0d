"""Browser tests: Playwright for Python driving Debian's Chromium (``apt-get install chromium``)
against pytest-django's live server, with a real Celery worker and the local demo provider.

Playwright's own browser download is not used (and not available here): the system Chromium
is launched by path. Without Chromium or Playwright these tests skip, unless
``REQUIRE_SERVICES=1`` (CI), where a missing browser is a failure rather than a silent skip.
"""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

from tests.integration.conftest import PROJECT_ROOT, start_worker, stop_worker, worker_log
from tests.services import REQUIRE_SERVICES

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password
DESKTOP = {"width": 1440, "height": 960}
PHONE = {"width": 390, "height": 844}


def _browser_missing() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: pip install -e '.[dev]'"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM}: apt-get install chromium"
    return ""


@pytest.fixture
def worker(settings) -> Iterator[subprocess.Popen]:
    """A real worker on the test database and this test's media folder."""
    process = start_worker()
    yield process
    stop_worker(process)
    # Shown by pytest only when the test failed: what the worker was doing meanwhile.
    print(f"worker output:\n{worker_log(process)}")


@pytest.fixture
def browser(live_server, monkeypatch) -> Iterator:
    """Debian's Chromium, headless, for this test only."""
    problem = _browser_missing()
    if problem:
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {problem}")
        pytest.skip(problem)
    # Playwright's sync API keeps an asyncio loop running in this thread; Django then refuses
    # ORM calls from the test body as if they came from async code. They do not: the loop only
    # drives the browser, and each ORM call here is an ordinary blocking one.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            # With that loop running, the test body's queries had database connections of their
            # own, which no later teardown sees: one left checked out of the pool kept the test
            # database from being dropped at the end of the run.
            connections.close_all()


@pytest.fixture
def page(browser, live_server) -> Iterator:
    """A fresh page whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, accept_downloads=True)
    browser_page = context.new_page()
    browser_page.set_default_timeout(20_000)
    yield browser_page
    context.close()


def log_in(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def assert_fits_the_screen(page) -> None:
    """Nothing sticks out sideways: at phone width a page scrolls only down."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        culprits = page.evaluate(
            """() => Array.from(document.querySelectorAll("body *"))
                .filter((node) => node.getBoundingClientRect().right > window.innerWidth + 1)
                .slice(0, 8)
                .map((node) => node.tagName + "." + node.className + " "
                     + Math.round(node.getBoundingClientRect().right))"""
        )
        raise AssertionError(f"the page is {overflow}px wider than the screen: {culprits}")
