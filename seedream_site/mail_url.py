"""``EMAIL_URL``: where outgoing mail goes, as one URL, read into Django's email settings.

The rule, whole:

- ``smtps://user:password@host:465`` -- SMTP over TLS from the first byte (implicit TLS).
- ``submission://user:password@host:587`` (also ``smtp+starttls://``) -- SMTP that switches to
  TLS with STARTTLS before anything is sent, as mail submission on port 587 does.
- ``smtp://host:25`` -- plain SMTP, no TLS: a relay on the same machine or network only.
- ``file:///absolute/folder`` or ``file://relative/folder`` -- one file per mail in that folder.
- ``console://`` -- each mail printed on the server's standard output.

User name and password are percent-decoded (``%40`` for an ``@`` in a user name). Nothing else
is read from the URL: a query string is refused rather than ignored, so a misspelt option
never passes for one that works.
"""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# Port when the URL names none, per scheme.
DEFAULT_PORTS = {"smtps": 465, "submission": 587, "smtp+starttls": 587, "smtp": 25}


@dataclass(frozen=True)
class MailSettings:
    backend: str
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""
    use_ssl: bool = False  # implicit TLS (smtps)
    use_tls: bool = False  # STARTTLS (submission)
    file_path: str = ""

    @property
    def encrypted(self) -> bool:
        """Whether mail leaves this server over TLS (what production requires)."""
        return self.use_ssl or self.use_tls


def mail_settings_from_url(url: str, *, base_dir: Path) -> MailSettings:
    """Parse ``url`` by the rule above; relative ``file://`` folders are under ``base_dir``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if parts.query or parts.fragment:
        raise ImproperlyConfigured("EMAIL_URL takes no query string or fragment.")
    if scheme == "console":
        return MailSettings(backend="django.core.mail.backends.console.EmailBackend")
    if scheme == "file":
        raw_folder = unquote(parts.netloc + parts.path)
        folder = Path(raw_folder)
        if not raw_folder.strip("/"):
            raise ImproperlyConfigured("EMAIL_URL file:// needs a folder, e.g. file://var/mail.")
        return MailSettings(
            backend="django.core.mail.backends.filebased.EmailBackend",
            file_path=str(folder if folder.is_absolute() else base_dir / folder),
        )
    if scheme not in DEFAULT_PORTS:
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with smtps://, submission://, smtp+starttls://, smtp://, "
            f"file:// or console://, not {scheme or 'nothing'}://."
        )
    if not parts.hostname:
        raise ImproperlyConfigured(f"EMAIL_URL {scheme}:// needs a host name.")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as error:
        raise ImproperlyConfigured(f"EMAIL_URL has an invalid port: {error}") from error
    return MailSettings(
        backend=SMTP_BACKEND,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        use_ssl=scheme == "smtps",
        use_tls=scheme in ("submission", "smtp+starttls"),
    )
