"""The ID token checks (accounts.oidc.id_token) against the real provider's published keys
(its JWKS over loopback): a token signed with the provider's key passes; one signed with any
other key, with the published key as an HMAC secret, or carrying another nonce, does not."""

import base64
import hashlib
import hmac
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from accounts.oidc.id_token import IdTokenError, id_token_verify
from tests.sso.oidc_server import CLIENT_ID, KEY_ID

NONCE = "nonce-of-this-sign-in"


def _claims(issuer: str, **changes: object) -> dict:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": "ana",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
    }
    claims.update(changes)
    return claims


def _verify(oidc_provider, token: str, nonce: str | None = NONCE) -> dict:
    return id_token_verify(
        id_token=token,
        jwks_uri=f"{oidc_provider.issuer}/jwks",
        issuer=oidc_provider.issuer,
        client_id=CLIENT_ID,
        nonce=nonce,
    )


def _signed(key: object, claims: dict, *, algorithm: str = "RS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": KEY_ID})  # type: ignore[arg-type]


def test_a_token_signed_with_the_issuers_key_passes(oidc_provider):
    token = _signed(oidc_provider.private_key, _claims(oidc_provider.issuer))
    assert _verify(oidc_provider, token)["sub"] == "ana"


def test_a_token_signed_with_another_key_is_refused(oidc_provider):
    # Same key id, same claims: only the key differs from the one the issuer publishes.
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = _signed(forger, _claims(oidc_provider.issuer))
    with pytest.raises(IdTokenError, match="Signature verification failed"):
        _verify(oidc_provider, token)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_token_with_the_published_key_as_hmac_secret_is_refused(oidc_provider):
    # The classic confusion: HS256 "signed" with the issuer's public key, which anyone can
    # read. Made by hand (PyJWT itself refuses to make it).
    (published,) = httpx.get(f"{oidc_provider.issuer}/jwks").json()["keys"]
    public_pem = jwt.algorithms.RSAAlgorithm.from_jwk(published).public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "kid": KEY_ID, "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(oidc_provider.issuer)).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{_b64(signature)}"
    with pytest.raises(IdTokenError, match="not a public-key algorithm"):
        _verify(oidc_provider, token)


def test_an_unsigned_token_is_refused(oidc_provider):
    token = jwt.encode(_claims(oidc_provider.issuer), None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(IdTokenError, match="not a public-key algorithm"):
        _verify(oidc_provider, token)


@pytest.mark.parametrize(
    ("changes", "nonce", "reason"),
    [
        ({"nonce": "another sign-in's"}, NONCE, "nonce"),
        ({}, None, "nonce"),
        ({"aud": "another-client"}, NONCE, "audience"),
        ({"iss": "https://issuer.invalid"}, NONCE, "issuer"),
        ({"exp": int(time.time()) - 3600}, NONCE, "expired"),
    ],
)
def test_a_token_for_another_sign_in_is_refused(oidc_provider, changes, nonce, reason):
    token = _signed(oidc_provider.private_key, _claims(oidc_provider.issuer, **changes))
    with pytest.raises(IdTokenError, match=f"(?i){reason}"):
        _verify(oidc_provider, token, nonce=nonce)
