"""The checks an ID token must pass before anyone is signed in with it (OpenID Connect Core
1.0, §3.1.3.7): a signature by one of the issuer's published keys (its JWKS), the issuer, this
site as audience, an expiry in the future, and the nonce this site sent with the request.

django-allauth 65 skips the signature in the authorization-code flow (the token came straight
from the token endpoint) and sends no nonce; we check both all the same, so a token endpoint
reached over a bad network path, or a replayed token, signs nobody in.
"""

import hmac
from typing import Any

import jwt
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from requests import RequestException

# Public-key algorithms only: a token "signed" with HS256 and the published key as its secret,
# or with "none", is refused whatever its header says.
SIGNATURE_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
CLOCK_SKEW_S = 60


class IdTokenError(OAuth2Error):
    """The ID token failed a check; allauth shows its sign-in error page for it."""


def _signing_key(*, id_token: str, jwks_uri: str) -> tuple[Any, str]:
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as error:
        raise IdTokenError("The ID token is not a JWT.") from error
    algorithm = header.get("alg")
    if algorithm not in SIGNATURE_ALGORITHMS:
        raise IdTokenError(f"ID token signed with {algorithm!r}, not a public-key algorithm.")
    try:
        with get_adapter().get_requests_session() as session:
            response = session.get(jwks_uri)
            response.raise_for_status()
            key_set = jwt.PyJWKSet.from_dict(response.json())
    except (RequestException, ValueError, jwt.PyJWTError) as error:
        raise IdTokenError("The issuer's signing keys (JWKS) could not be read.") from error
    kid = header.get("kid")
    candidates = [key for key in key_set.keys if kid is None or key.key_id == kid]
    for key in candidates:
        if key.algorithm_name in (algorithm, None) and key.public_key_use in ("sig", None):
            return key.key, algorithm
    raise IdTokenError(f"No key {kid!r} for {algorithm} in the issuer's JWKS.")


def id_token_verify(
    *, id_token: str, jwks_uri: str, issuer: str, client_id: str, nonce: str | None
) -> dict[str, Any]:
    """The token's claims once every check passed; ``IdTokenError`` names the first that
    failed. ``nonce`` is the one sent with this sign-in's request (None: none was sent)."""
    key, algorithm = _signing_key(id_token=id_token, jwks_uri=jwks_uri)
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key=key,
            algorithms=[algorithm],
            audience=client_id,
            issuer=issuer,
            leeway=CLOCK_SKEW_S,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.PyJWTError as error:
        raise IdTokenError(f"The ID token failed verification: {error}.") from error
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise IdTokenError("The ID token was issued to another party (azp).")
    if nonce is None or not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise IdTokenError("The ID token does not carry this sign-in's nonce.")
    return claims
