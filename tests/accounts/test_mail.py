"""Outgoing mail: EMAIL_URL's rule, production's TLS requirement, and every mail's two parts."""

from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from accounts.mail import mail_send
from seedream_site.mail_url import mail_settings_from_url
from tests.mailserver import html_part, text_part
from tests.production.conftest import load_settings
from tests.production.test_production_settings import production_environment

BASE = Path("/srv/studio")


def test_smtps_is_implicit_tls_with_decoded_credentials():
    parsed = mail_settings_from_url(
        "smtps://studio%40example.com:p%3Ass@mail.example.com", base_dir=BASE
    )
    assert parsed.backend == "django.core.mail.backends.smtp.EmailBackend"
    assert (parsed.host, parsed.port) == ("mail.example.com", 465)
    assert (parsed.user, parsed.password) == ("studio@example.com", "p:ss")
    assert parsed.use_ssl
    assert not parsed.use_tls


@pytest.mark.parametrize("scheme", ["submission", "smtp+starttls"])
def test_submission_is_starttls_on_587(scheme):
    parsed = mail_settings_from_url(f"{scheme}://u:p@mail.example.com", base_dir=BASE)
    assert parsed.port == 587
    assert parsed.use_tls
    assert not parsed.use_ssl


def test_plain_smtp_is_not_encrypted_and_keeps_its_port():
    parsed = mail_settings_from_url("smtp://relay:2525", base_dir=BASE)
    assert (parsed.host, parsed.port, parsed.encrypted) == ("relay", 2525, False)


def test_file_folders_relative_to_the_project_or_absolute():
    assert (
        mail_settings_from_url("file://var/mail", base_dir=BASE).file_path == "/srv/studio/var/mail"
    )
    assert mail_settings_from_url("file:///tmp/mail", base_dir=BASE).file_path == "/tmp/mail"


@pytest.mark.parametrize(
    "url",
    ["http://mail.example.com", "smtps://", "smtp://host?tls=1", "file://", "mail.example.com"],
)
def test_other_urls_are_refused(url):
    with pytest.raises(ImproperlyConfigured):
        mail_settings_from_url(url, base_dir=BASE)


def test_production_refuses_mail_without_tls():
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL must be smtps:// or submission://"):
        load_settings(production_environment(EMAIL_URL="smtp://relay.example.com"))
    loaded = load_settings(production_environment(EMAIL_URL="smtps://u:p@mail.example.com"))
    assert loaded["EMAIL_USE_SSL"] is True


def test_the_mail_password_is_never_logged():
    loaded = load_settings(
        production_environment(EMAIL_URL="submission://u:a-long-mail-password@mail.example.com")
    )
    assert "a-long-mail-password" in loaded["SECRETS_NEVER_LOGGED"]


def test_the_default_writes_mail_to_files_under_var_mail(settings):
    loaded = load_settings({})
    assert loaded["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert loaded["EMAIL_FILE_PATH"] == str(Path(settings.VAR_DIR) / "mail")


def test_a_mail_reaches_an_smtp_server_with_text_and_html_parts_naming_the_site(
    smtp_server, settings
):
    settings.SITE_NAME = "Acme Images"
    settings.DEFAULT_FROM_EMAIL = "Acme Images <studio@acme.example>"
    mail_send(
        template_prefix="account/email/password_changed",
        to=["ana@example.com"],
        context={"ip": "192.0.2.1", "user_agent": "Firefox", "timestamp": "now"},
    )
    message = smtp_server.last_to("ana@example.com")
    assert message["Subject"].startswith("[Acme Images] ")
    assert message["From"] == "Acme Images <studio@acme.example>"
    assert "Acme Images" in text_part(message)
    html = html_part(message)
    assert "Acme Images" in html
    assert "Your password has been changed." in html


def test_every_mail_has_an_html_part_even_without_a_template_of_its_own(mailoutbox):
    mail_send(
        template_prefix="account/email/password_changed",
        to=["ana@example.com"],
        context={"ip": "192.0.2.1", "user_agent": "Firefox", "timestamp": "now"},
    )
    (message,) = mail.outbox
    assert [mimetype for _, mimetype in message.alternatives] == ["text/html"]
