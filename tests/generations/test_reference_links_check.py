"""The account check warns when a provider that fetches reference links cannot reach them.

Siraya and SinanCode take reference images only as URLs (seeds 003 and 004), so they download
them from our signed links on PUBLIC_BASE_URL; a loopback or private address there makes every
generation with a reference fail at the provider. The check says so, naming the setting and
the fix, after proving the key.
"""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from generations.security import signed_links as media_links
from generations.security.signed_links import reference_links_unreachable
from generations.services.provider_accounts import (
    ProviderAccountInput,
    ReferenceLinksUnreachable,
    provider_account_check,
    provider_account_create,
)
from tests.emulators.ark import ArkEmulator
from tests.emulators.siraya import SirayaEmulator

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("public_base_url", "problem"),
    [
        ("http://127.0.0.1:8000", "a loopback address"),
        ("http://localhost:8000", "a loopback address"),
        ("http://10.0.3.7", "a private address"),
        ("http://192.168.1.20:8000", "a private address"),
        ("http://[::1]:8000", "a loopback address"),
        ("http://web:8000", "a name only a local network resolves"),
        ("http://studio.internal", "a name only a local network resolves"),
        ("https://studio.example.com", ""),
        ("https://203.0.113.9", "a private address"),  # TEST-NET-3
        ("https://8.8.8.8", ""),
    ],
)
def test_which_public_base_urls_a_provider_cannot_reach(settings, public_base_url, problem):
    settings.PUBLIC_BASE_URL = public_base_url

    assert reference_links_unreachable() == problem


def test_on_s3_the_links_are_the_buckets_whatever_public_base_url_says(settings, monkeypatch):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    monkeypatch.setattr(media_links, "_storage_presigns", lambda: True)

    assert reference_links_unreachable() == ""


def siraya_account(base_url: str):
    return provider_account_create(
        data=ProviderAccountInput(
            kind="siraya",
            label="Siraya",
            base_url=base_url,
            api_key="test-key",
            models=["seedream-4.5"],
        ),
        actor=None,
    )


def test_the_check_names_public_base_url_and_the_fix_for_a_url_only_provider(settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    emulator = SirayaEmulator()
    with emulator.serve() as base_url:
        account = siraya_account(base_url)
        with pytest.raises(ReferenceLinksUnreachable) as caught:
            provider_account_check(account=account)
        with pytest.raises(CommandError) as command:
            call_command("provider_account", "check", "Siraya", stdout=io.StringIO())

    message = str(caught.value)
    assert "The key was accepted" in message
    assert "Siraya takes reference images only as links" in message
    assert "PUBLIC_BASE_URL (http://127.0.0.1:8000) is a loopback address" in message
    assert "Set PUBLIC_BASE_URL to the https address this site has on the internet" in message
    assert "reference_links_unreachable" in str(command.value)
    assert "PUBLIC_BASE_URL" in str(command.value)


def test_the_check_passes_once_public_base_url_is_public(settings):
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    emulator = SirayaEmulator()
    with emulator.serve() as base_url:
        siraya_account(base_url)
        output = io.StringIO()
        call_command("provider_account", "check", "Siraya", stdout=output)

    assert "Siraya: OK." in output.getvalue()


def test_providers_that_take_bytes_do_not_need_public_links(settings):
    # Ark takes references inline (BP-API: data URIs up to 10 MB), so a loopback
    # PUBLIC_BASE_URL is no concern of its account.
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    emulator = ArkEmulator(flavour="byteplus")
    with emulator.serve() as base_url:
        provider_account_create(
            data=ProviderAccountInput(
                kind="byteplus",
                label="BytePlus",
                base_url=f"{base_url}/api/v3",
                api_key=emulator.api_key,
                models=["seedream-4.0"],
            ),
            actor=None,
        )
        output = io.StringIO()
        call_command("provider_account", "check", "BytePlus", stdout=output)

    assert "BytePlus: OK." in output.getvalue()
