"""Provider credentials at rest: Fernet-encrypted, with rotation.

Keys come from ``PROVIDER_CREDENTIALS_KEYS`` (comma-separated Fernet keys, newest first). With
none set, one key is derived from ``DJANGO_SECRET_KEY`` (HKDF-SHA256), so the embedded default
needs no setup. To rotate: put a new key first (``python -c "from cryptography.fernet import
Fernet; print(Fernet.generate_key().decode())"``), keep the old ones after it, run
``manage.py provider_account rotate-keys`` (re-encrypts every account with the first key), then
remove the old keys. Changing ``DJANGO_SECRET_KEY`` without listing keys makes stored
credentials unreadable: set ``PROVIDER_CREDENTIALS_KEYS`` before rotating the secret key.
"""

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from studio_core.redaction import remember_secret


class CredentialUnreadable(Exception):
    """A stored credential does not decrypt with any configured key."""


def _fernet() -> MultiFernet:
    keys = tuple(key.strip() for key in settings.PROVIDER_CREDENTIALS_KEYS if key.strip())
    return _fernet_for(keys, settings.SECRET_KEY)


# Built once per key set: every provider call decrypts its account's key, and the derivation
# and key parsing would otherwise be repeated each time. Settings changes (tests) give new keys.
@functools.lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"seedream provider credentials"
        ).derive(secret_key.encode())
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    return MultiFernet([Fernet(key) for key in keys])


def credential_encrypt(secret: str) -> str:
    # Every provider key this process holds in plain text is scrubbed from its logs from now on.
    remember_secret(secret)
    return _fernet().encrypt(secret.encode()).decode() if secret else ""


def credential_decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        secret = _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise CredentialUnreadable(
            "A provider credential cannot be decrypted with the configured keys. "
            "Add the key it was stored with to PROVIDER_CREDENTIALS_KEYS, or store the "
            "credential again with manage.py provider_account set-key."
        ) from None
    remember_secret(secret)
    return secret


def credential_rotate(token: str) -> str:
    """The same secret encrypted with the first (newest) key."""
    return _fernet().rotate(token.encode()).decode() if token else ""
