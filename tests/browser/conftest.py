"""Browser tests: Playwright for Python driving Debian's Chromium (``apt-get install chromium``)
against pytest-django's live server, with a real Celery worker and the local demo provider.

Playwright's own browser download is not used (and not available here): the system Chromium
is launched by path. Without Chromium or Playwright these tests skip, unless
``REQUIRE_SERVICES=1`` (CI), where a missing browser is a failure rather than a silent skip.

Every page runs under the site's Content-Security-Policy, and a test whose pages broke it
fails at teardown (``ContentSecurityWatch``): an inline script or style added to a template or
a script is caught by the first browser test that shows it.
"""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from tests.integration.conftest import PROJECT_ROOT, start_worker, stop_worker, worker_log
from tests.services import REQUIRE_SERVICES
from tests.sso.oidc_server import oidc_provider, sso_app  # noqa: F401  (single sign-on fixtures)

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


# Runs in every document before its own scripts: each violation the browser reports to the
# page (the `securitypolicyviolation` event) is handed to ContentSecurityWatch.
_VIOLATION_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportContentSecurityViolation(
    `${event.effectiveDirective} refused ${event.blockedURI || "an inline item"}`
    + ` at ${event.sourceFile || location.pathname}:${event.lineNumber}`
    + ` (page ${location.pathname})`
  );
}, true);
"""


class ContentSecurityWatch:
    """The Content-Security-Policy violations of the browser contexts it is attached to.

    Two witnesses: the page's `securitypolicyviolation` event (the violation as a structured
    report), and Chromium's console error ("Executing inline script violates the following
    Content Security Policy directive ..."), which also covers pages with JavaScript turned off.
    """

    def __init__(self) -> None:
        self.violations: list[str] = []

    def attach(self, context: Any) -> None:
        context.expose_function("reportContentSecurityViolation", self._report)
        context.add_init_script(_VIOLATION_LISTENER)
        context.on("console", self._console)

    def _report(self, description: str) -> None:
        self.violations.append(f"event: {description}")

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"console: {message.text}")

    def clear(self) -> None:
        self.violations.clear()


@pytest.fixture
def csp_watch(browser) -> Iterator[ContentSecurityWatch]:
    """Attach to each context a test opens; the test fails at teardown if any page broke the
    Content-Security-Policy. A test that breaks it on purpose clears what it expected."""
    watch = ContentSecurityWatch()
    yield watch
    if watch.violations:
        pytest.fail(
            "The pages broke the Content-Security-Policy:\n" + "\n".join(watch.violations),
            pytrace=False,
        )


def new_context(browser, live_server, watch: ContentSecurityWatch, **options: Any) -> Any:
    """A browser context on the live server, watched for Content-Security-Policy violations."""
    context = browser.new_context(base_url=live_server.url, **options)
    watch.attach(context)
    return context


@pytest.fixture
def page(browser, live_server, csp_watch) -> Iterator:
    """A fresh page whose relative URLs go to the live server."""
    context = new_context(browser, live_server, csp_watch, viewport=DESKTOP, accept_downloads=True)
    browser_page = context.new_page()
    browser_page.set_default_timeout(20_000)
    yield browser_page
    if not browser_page.is_closed():
        # A round trip to the page delivers the reports it sent before this point.
        browser_page.evaluate("() => true")
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
