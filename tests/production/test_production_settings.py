"""DJANGO_ENV=production: required values fail fast, hardened defaults, a clean deploy check."""

import os
import secrets

import pytest
from django.core.exceptions import ImproperlyConfigured

from .conftest import load_settings, run_manage

REQUIRED = [
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "EMAIL_URL",
    "AWS_STORAGE_BUCKET_NAME",
]


def production_environment(**overrides: str) -> dict[str, str]:
    """A complete production environment; a test replaces or blanks what it is about.

    The database and broker are the suite's own when it runs on PostgreSQL and Redis (CI);
    otherwise addresses nothing listens on, which settings and the deploy check never dial.
    """
    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    environment = {
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "studio.example.com",
        "DATABASE_URL": database_url
        if database_url.startswith("postgres")
        else "postgres://seedream@127.0.0.1:1/seedream",
        "CELERY_BROKER_URL": broker_url
        if broker_url.startswith("redis")
        else "redis://127.0.0.1:1/0",
        "CACHE_URL": "redis://127.0.0.1:1/1",  # settings only parse it; nothing dials it
        "EMAIL_URL": "submission://studio:mail-password@127.0.0.1:1",  # nor this
        "AWS_STORAGE_BUCKET_NAME": "seedream-media",
        "AWS_S3_REGION_NAME": "eu-west-1",
    }
    environment.update(overrides)
    return {name: value for name, value in environment.items() if value}


def test_every_missing_required_value_is_named_at_once():
    with pytest.raises(ImproperlyConfigured) as raised:
        load_settings({"DJANGO_ENV": "production"})
    message = str(raised.value)
    for name in REQUIRED:
        assert name in message


@pytest.mark.parametrize("name", REQUIRED)
def test_one_missing_value_is_named(name):
    with pytest.raises(ImproperlyConfigured) as raised:
        load_settings(production_environment(**{name: ""}))
    named = [required for required in REQUIRED if required in str(raised.value)]
    assert named == [name]


def test_a_process_starting_without_them_fails_with_their_names():
    result = run_manage(
        {"DJANGO_ENV": "production", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}, "check"
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    names = (
        "DJANGO_ALLOWED_HOSTS, DATABASE_URL, CELERY_BROKER_URL, CACHE_URL, EMAIL_URL, "
        "AWS_STORAGE_BUCKET_NAME"
    )
    assert names in result.stderr
    assert "DJANGO_SECRET_KEY," not in result.stderr


def test_a_filesystem_installation_needs_no_bucket():
    loaded = load_settings(
        production_environment(AWS_STORAGE_BUCKET_NAME="", STORAGE_BACKEND="filesystem")
    )
    assert loaded["STORAGES"]["default"]["BACKEND"].endswith("FileSystemStorage")


def test_debug_is_refused():
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG"):
        load_settings(production_environment(DJANGO_DEBUG="true"))


def test_unknown_profile_is_refused():
    with pytest.raises(ImproperlyConfigured, match="DJANGO_ENV"):
        load_settings({"DJANGO_ENV": "prod"})


def test_production_defaults():
    loaded = load_settings(production_environment())
    assert loaded["DEBUG"] is False
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SECURE_HSTS_SECONDS"] == 31_536_000
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert "SECURE_PROXY_SSL_HEADER" not in loaded  # opt-in
    assert loaded["ALLOWED_HOSTS"] == ["studio.example.com"]
    assert loaded["STORAGES"]["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert loaded["STORAGES"]["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    assert loaded["LOG_FORMAT"] == "json"
    assert loaded["SECRET_KEY"] in loaded["SECRETS_NEVER_LOGGED"]


def test_https_settings_are_configurable():
    loaded = load_settings(
        production_environment(
            DJANGO_HSTS_SECONDS="3600",
            DJANGO_SECURE_PROXY_SSL_HEADER="true",
            DJANGO_CSRF_TRUSTED_ORIGINS="https://studio.example.com,https://admin.example.com",
            DJANGO_SECURE_SSL_REDIRECT="false",
            LOG_FORMAT="plain",
        )
    )
    assert loaded["SECURE_HSTS_SECONDS"] == 3600
    assert loaded["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert loaded["CSRF_TRUSTED_ORIGINS"] == [
        "https://studio.example.com",
        "https://admin.example.com",
    ]
    assert loaded["SECURE_SSL_REDIRECT"] is False
    assert loaded["LOG_FORMAT"] == "plain"


def test_proxy_headers_are_trusted_only_when_asked():
    default = load_settings(production_environment())
    assert default["USE_X_FORWARDED_HOST"] is False
    assert "SECURE_PROXY_SSL_HEADER" not in default
    trusted = load_settings(production_environment(DJANGO_TRUST_PROXY_HEADERS="true"))
    assert trusted["USE_X_FORWARDED_HOST"] is True
    assert trusted["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    # The older switch still trusts the scheme alone.
    scheme_only = load_settings(production_environment(DJANGO_SECURE_PROXY_SSL_HEADER="true"))
    assert scheme_only["USE_X_FORWARDED_HOST"] is False
    assert scheme_only["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def test_public_base_url_defaults_to_the_web_server_of_make_run():
    assert load_settings({})["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"
    # The Makefile passes the port it serves on to every process as WEB_PORT.
    assert load_settings({"WEB_PORT": "8101"})["PUBLIC_BASE_URL"] == "http://127.0.0.1:8101"
    explicit = load_settings({"WEB_PORT": "8101", "PUBLIC_BASE_URL": "https://studio.example.com"})
    assert explicit["PUBLIC_BASE_URL"] == "https://studio.example.com"


def test_development_profile_is_unchanged():
    loaded = load_settings({})
    assert loaded["SESSION_COOKIE_SECURE"] is False
    assert loaded["SECURE_HSTS_SECONDS"] == 0
    assert loaded["SECURE_SSL_REDIRECT"] is False
    assert loaded["LOG_FORMAT"] == "plain"
    assert loaded["STORAGES"]["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedStaticFilesStorage"
    )


def test_empty_values_count_as_unset():
    # `NAME=` lines copied from .env.example must not blank out a default.
    loaded = load_settings({"LOG_FORMAT": "", "DJANGO_ALLOWED_HOSTS": ""})
    assert loaded["LOG_FORMAT"] == "plain"
    assert "localhost" in loaded["ALLOWED_HOSTS"]


def test_deploy_check_is_clean():
    result = run_manage(production_environment(), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_collectstatic_builds_the_manifest(tmp_path):
    # What the Dockerfile runs at build time: hashed, compressed files and their manifest.
    static_root = tmp_path / "static"
    result = run_manage(
        {"STATIC_MANIFEST": "true", "STATIC_ROOT": str(static_root)},
        "collectstatic",
        "--noinput",
        "--verbosity",
        "0",
    )
    assert result.returncode == 0, result.stderr
    assert (static_root / "staticfiles.json").exists()
    assert list(static_root.rglob("*.css.gz"))


def test_single_sign_on_is_configured_from_the_environment():
    loaded = load_settings(
        {
            "OIDC_ISSUER_URL": "https://accounts.google.com",
            "OIDC_CLIENT_ID": "client-1",
            "OIDC_CLIENT_SECRET": "secret-1",
            "OIDC_PROVIDER_NAME": "Google",
            "OIDC_ALLOWED_DOMAINS": "Example.com, example.org",
            "SSO_ONLY": "true",
        }
    )
    provider = loaded["SOCIALACCOUNT_PROVIDERS"]["openid_connect"]
    assert provider["OAUTH_PKCE_ENABLED"] is True
    assert provider["APPS"] == [
        {
            "provider_id": "sso",
            "name": "Google",
            "client_id": "client-1",
            "secret": "secret-1",
            "settings": {
                "server_url": "https://accounts.google.com",
                "allowed_domains": ["example.com", "example.org"],
            },
        }
    ]
    assert loaded["SSO_ONLY"] is True
    assert load_settings({})["SOCIALACCOUNT_PROVIDERS"]["openid_connect"]["APPS"] == []


def test_an_issuer_without_client_credentials_stops_start_up():
    with pytest.raises(ImproperlyConfigured, match="OIDC_CLIENT_ID and OIDC_CLIENT_SECRET"):
        load_settings({"OIDC_ISSUER_URL": "https://accounts.google.com"})
