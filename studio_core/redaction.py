"""Secrets never reach a log: every record is scrubbed when it is created.

What is scrubbed, wherever it appears in a message, its arguments, a traceback or a stack:

- our API keys (``sds_<prefix>_<secret>``: the public prefix stays, it helps find the key);
- the value after ``Authorization`` or ``X-Api-Key`` in any spelling a header takes in a log
  (``Authorization: Bearer …``, ``{'authorization': 'Key …'}``, ``(b'authorization', b'…')``),
  and any ``Bearer <token>``;
- passwords inside URLs (``redis://:password@host``, ``postgres://user:password@host``);
- every exact secret the process knows: those named in ``settings.SECRETS_NEVER_LOGGED`` and the
  provider keys this process has encrypted or decrypted (``remember_secret``, called by
  ``generations.security.credentials``). A process can only log a provider key it has held in
  memory, and it holds one only after decrypting or encrypting it, so the set is complete for it.

``install_record_redaction`` wraps the log-record factory rather than adding a filter to each
handler, because a handler filter protects only that handler: records also reach pytest's
caplog, Celery's handlers or an error tracker an operator adds, and those must be clean too.
"""

import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

REDACTED = "[REDACTED]"
# Shorter values would redact ordinary words; no real credential is this short.
MIN_SECRET_LENGTH = 8

_API_KEY = re.compile(r"\b(sds_[0-9a-f]{12})_[A-Za-z0-9_\-]+")
# A malformed key a client sent is still a secret: anything long after ``sds_``.
# (A key already scrubbed above keeps only 13 such characters, so it is not matched again.)
_API_KEY_LOOSE = re.compile(r"\bsds_[A-Za-z0-9_\-]{16,}")
_HEADER_VALUE = re.compile(
    # The b of a bytes literal (b'…') is lower-case only: "Bearer" must stay the scheme.
    r"(?i)((?:authorization|x-api-key|api[_-]key)['\"]?\s*[:=,]\s*(?-i:b)?['\"]?)"
    r"(?:(bearer|basic|key|token|digest)\s+)?"
    r"[^\s'\",;}\])]+"
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@\s/]+(@)")

_known_secrets: set[str] = set()
# Longest first, so a secret that contains another is replaced whole.
_known_secrets_ordered: tuple[str, ...] = ()
_lock = threading.Lock()


def remember_secret(secret: str) -> None:
    """Redact ``secret`` from every later record of this process."""
    global _known_secrets_ordered
    secret = secret.strip()
    if len(secret) < MIN_SECRET_LENGTH or secret in _known_secrets:
        return
    with _lock:
        _known_secrets.add(secret)
        _known_secrets_ordered = tuple(sorted(_known_secrets, key=len, reverse=True))


def remember_secrets(secrets: Iterable[str]) -> None:
    for secret in secrets:
        remember_secret(secret)


def _header_replacement(match: re.Match[str]) -> str:
    scheme = f"{match.group(2)} " if match.group(2) else ""
    return f"{match.group(1)}{scheme}{REDACTED}"


def redact(text: str) -> str:
    """``text`` with every secret this module recognises replaced by ``[REDACTED]``."""
    for secret in _known_secrets_ordered:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "sds_" in text:
        text = _API_KEY.sub(rf"\1_{REDACTED}", text)
        text = _API_KEY_LOOSE.sub(f"sds_{REDACTED}", text)
    text = _HEADER_VALUE.sub(_header_replacement, text)
    text = _BEARER.sub(rf"\1 {REDACTED}", text)
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\1{REDACTED}\2", text)
    return text


_exception_formatter = logging.Formatter()


def redact_record(record: logging.LogRecord) -> None:
    """Scrub a record in place: its message, its traceback and its stack."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call is reported by the handler, not here
        return
    clean = redact(message)
    if clean != message:
        # The arguments are merged into the text: left apart, a handler would format them again.
        record.msg, record.args = clean, ()
    if record.exc_info and not record.exc_text:
        # Formatted now, once: every formatter reuses ``exc_text`` instead of the live traceback.
        record.exc_text = _exception_formatter.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class SecretRedactionFilter(logging.Filter):
    """The same scrubbing as a filter, for a handler configured outside ``configure_logging``."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install_record_redaction() -> None:
    """Make every record scrubbed at creation; safe to call again (wraps the factory once)."""
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(previous, "redacts_secrets", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    redacting_factory.redacts_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)
