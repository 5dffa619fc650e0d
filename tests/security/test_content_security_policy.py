"""The Content-Security-Policy header, the same in the default and the production profile, on
pages, API replies and error pages; and templates that need nothing the policy refuses.

The browser side (nothing on any page is refused, json_script data is read, an injected
script is) is tests/browser/test_content_security_policy.py.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from tests.api.conftest import key_client
from tests.production.conftest import load_settings
from tests.production.test_production_settings import production_environment

pytestmark = pytest.mark.django_db

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates"

EXPECTED_POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:", "blob:"},
    "connect-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "form-action": {"'self'"},
    "frame-ancestors": {"'none'"},
}


def parse_policy(header: str) -> dict[str, set[str]]:
    directives: dict[str, set[str]] = {}
    for directive in filter(None, (part.strip() for part in header.split(";"))):
        name, *sources = directive.split()
        assert name not in directives, f"{name} appears twice"
        directives[name] = set(sources)
    return directives


@pytest.fixture(params=["default", "production"])
def profile(request) -> Iterator[str]:
    """Each profile's policy and middleware, as a process started in it would have them."""
    if request.param == "default":
        yield request.param
        return
    loaded = load_settings(production_environment())
    with override_settings(
        CONTENT_SECURITY_POLICY=loaded["CONTENT_SECURITY_POLICY"],
        MIDDLEWARE=loaded["MIDDLEWARE"],
    ):
        yield request.param


def assert_policy(response) -> None:
    assert parse_policy(response["Content-Security-Policy"]) == EXPECTED_POLICY
    assert "Content-Security-Policy-Report-Only" not in response


def test_a_workspace_page_has_the_policy(profile, client, user):
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert_policy(response)
    # The models reach compose.js as data (json_script), which script-src does not govern.
    assert '<script id="catalog-data" type="application/json">' in response.content.decode()


def test_an_api_reply_has_the_policy(profile, user):
    response = key_client(user).get("/api/v1/me")
    assert response.status_code == 200
    assert_policy(response)


def test_an_error_page_has_the_policy(profile, client, user):
    client.force_login(user)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert_policy(response)


def test_an_unauthenticated_page_has_the_policy(profile):
    response = Client().get("/login/")
    assert response.status_code == 200
    assert_policy(response)


def test_media_on_s3_behind_a_custom_domain_changes_nothing():
    """Pages show outputs through session-checked views on the site itself (only API clients
    get links to the storage), so the storage's origin never needs to be an image source."""
    loaded = load_settings(
        production_environment(
            AWS_S3_ENDPOINT_URL="https://objects.example.net",
            AWS_S3_CUSTOM_DOMAIN="media.example.com",
            AWS_CLOUDFRONT_KEY_ID="K2JCJMDEHXQW5F",
            AWS_CLOUDFRONT_KEY="a PEM key (the settings only check that one is set)",
        )
    )
    assert loaded["STORAGES"]["default"]["OPTIONS"]["custom_domain"] == "media.example.com"
    assert loaded["CONTENT_SECURITY_POLICY"] == settings.CONTENT_SECURITY_POLICY


# --- Templates -----------------------------------------------------------------------------
# What the policy refuses, searched in the template sources: a <script> with code in it (only
# external scripts; json_script data is rendered by a filter, not written in a template), an
# on...= handler, a style= attribute or <style> element, and javascript: URLs.
SCRIPT_ELEMENT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
HANDLER_ATTRIBUTE = re.compile(r"<[a-z][^>]*?\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*?\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript\s*:", re.IGNORECASE)
# Template comments are never sent to the browser.
TEMPLATE_COMMENT = re.compile(r"{% comment %}.*?{% endcomment %}|{#.*?#}", re.DOTALL)


def template_sources() -> list[tuple[str, str]]:
    paths = sorted(TEMPLATES_DIR.rglob("*.html"))
    assert paths, f"no templates under {TEMPLATES_DIR}"
    return [(str(path.relative_to(TEMPLATES_DIR)), path.read_text()) for path in paths]


def problems_in(source: str) -> list[str]:
    source = TEMPLATE_COMMENT.sub("", source)
    problems = []
    for attributes, body in SCRIPT_ELEMENT.findall(source):
        if body.strip() or "src=" not in attributes:
            problems.append(f"inline script <script{attributes}>")
    problems += [f"handler {match.group(0)!r}" for match in HANDLER_ATTRIBUTE.finditer(source)]
    problems += [
        f"style attribute {match.group(0)!r}" for match in STYLE_ATTRIBUTE.finditer(source)
    ]
    problems += ["<style> element" for _ in STYLE_ELEMENT.finditer(source)]
    problems += ["javascript: URL" for _ in JAVASCRIPT_URL.finditer(source)]
    return problems


def test_no_template_needs_what_the_policy_refuses():
    found = {
        name: problems for name, source in template_sources() if (problems := problems_in(source))
    }
    assert found == {}


@pytest.mark.parametrize(
    "source",
    [
        "<script>window.config = {};</script>",
        '<script src="/static/js/a.js">run()</script>',
        '<button type="button" onclick="go()">Go</button>',
        '<div class="card"\n  onmouseover="x()">',
        '<div style="color: red">',
        "<style>p { color: red; }</style>",
        "{% comment %}A note.{% endcomment %}<style>p { color: red; }</style>",
        '<a href="javascript:void(0)">',
    ],
)
def test_the_template_check_sees_each_kind(source):
    assert problems_in(source)


def test_the_template_check_passes_external_scripts_and_look_alikes():
    source = (
        "<script src=\"{% static 'js/compose.js' %}\" defer></script>"
        '<div data-style="x" class="once" data-onload="no">'
        '<p>Described in "style guide"; the word onclick in text is fine.</p>'
        "{% comment %}Not a <style> or <script>x()</script>, a note.{% endcomment %}"
        '{# nor <div style="x"> #}'
    )
    assert problems_in(source) == []
