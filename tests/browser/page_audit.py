"""What every page must pass in a real browser: it fits the window sideways, each form control
on it can be scrolled to and clicked, and axe-core (Deque's accessibility engine, from npm)
finds nothing against the WCAG 2.1 A and AA rules.

axe-core is installed by ``npm ci`` from ``tests/browser/axe/package-lock.json`` on first use
(as the single sign-on tests install their provider) and injected into the page by the test:
the site's Content-Security-Policy refuses any script it did not serve, so the audit's browser
context is opened with ``bypass_csp=True`` (the policy itself is checked by every other browser
test, see ``ContentSecurityWatch``).

Without Node or npm these checks skip, unless ``REQUIRE_SERVICES=1`` (CI): then they fail.
"""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.services import REQUIRE_SERVICES

AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_install() -> Path:
    """axe-core's browser build, installed from the committed lock file when missing or older."""
    installed = AXE_DIR / "node_modules" / ".package-lock.json"
    lock = AXE_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return AXE_SCRIPT
    problem = ""
    if not shutil.which("npm"):
        problem = "the accessibility audit needs npm (axe-core is installed with npm ci)"
    else:
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"],
            cwd=AXE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            problem = f"npm ci failed in {AXE_DIR}:\n{result.stdout}{result.stderr}"
    if problem:
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {problem}")
        pytest.skip(problem)
    return AXE_SCRIPT


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: list[str]

    def __str__(self) -> str:
        return f"{self.rule} ({self.impact}): {self.help} at {', '.join(self.targets)}"


_AXE_RUN = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return results.violations.map((violation) => ({
    rule: violation.id,
    impact: violation.impact || "",
    help: violation.help,
    targets: violation.nodes.map((node) => node.target.join(" ")),
  }));
}"""


def axe_violations(page: Any, script: Path) -> list[Violation]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(script))
    return [Violation(**found) for found in page.evaluate(_AXE_RUN, WCAG_21_AA)]


def page_overflow(page: Any) -> str:
    """Empty when the page scrolls only down; else how much wider it is and what sticks out."""
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] <= width[1]:
        return ""
    culprits = page.evaluate(
        """() => Array.from(document.querySelectorAll("body *"))
            .filter((node) => node.getBoundingClientRect().right > window.innerWidth + 1)
            .filter((node) => !node.parentElement
                || node.parentElement.getBoundingClientRect().right <= window.innerWidth + 1)
            .slice(0, 8)
            .map((node) => node.tagName.toLowerCase()
                 + (node.className && typeof node.className === "string"
                    ? "." + node.className.trim().split(/\\s+/).join(".") : "")
                 + " (right edge " + Math.round(node.getBoundingClientRect().right) + "px)")"""
    )
    return (
        f"the page is {width[0]}px wide in a {width[1]}px window; "
        f"sticking out: {', '.join(culprits)}"
    )


# Each visible control, scrolled to the middle of the window: the element at its centre must be
# the control or inside it (a label's text over a checkbox counts as covering it).
_UNREACHABLE_CONTROLS = """() => {
  const describe = (node) => {
    const name = node.getAttribute("name") || node.id || node.getAttribute("aria-label")
      || (node.textContent || "").trim().slice(0, 30);
    return node.tagName.toLowerCase() + (node.type ? `[type=${node.type}]` : "") + ` "${name}"`;
  };
  // checkVisibility also rules out what a closed <details> holds (content-visibility: hidden).
  const visible = (node) => {
    const box = node.getBoundingClientRect();
    return box.width > 1 && box.height > 1 && node.checkVisibility({
      contentVisibilityAuto: true, opacityProperty: true, visibilityProperty: true,
    });
  };
  const problems = [];
  const controls = document.querySelectorAll(
    "input:not([type=hidden]), select, textarea, button"
  );
  for (const control of controls) {
    if (!visible(control)) continue;
    control.scrollIntoView({block: "center", inline: "center"});
    const box = control.getBoundingClientRect();
    const x = box.left + box.width / 2;
    const y = box.top + box.height / 2;
    if (x < 0 || y < 0 || x >= window.innerWidth || y >= window.innerHeight) {
      problems.push(`${describe(control)} cannot be scrolled into the window`);
      continue;
    }
    const hit = document.elementFromPoint(x, y);
    if (hit !== control && !control.contains(hit)) {
      const cover = hit ? hit.tagName.toLowerCase()
        + (typeof hit.className === "string" && hit.className ? "." + hit.className : "")
        : "nothing";
      problems.push(`${describe(control)} is covered by ${cover}`);
    }
  }
  window.scrollTo(0, 0);
  return problems;
}"""


def unreachable_controls(page: Any) -> list[str]:
    """The visible form controls a person could not scroll to or click."""
    return page.evaluate(_UNREACHABLE_CONTROLS)
