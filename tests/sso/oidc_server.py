"""A real OpenID Connect provider for the single sign-on tests: panva's ``oidc-provider`` (npm),
run by Node from ``tests/oidc_provider/server.js`` in its own process on a loopback port, with
signing keys this module makes (so a test can also sign with a key the provider never
published). Its packages are installed by ``npm ci`` from the committed lock file on first use.

Without Node or npm these tests skip, unless ``REQUIRE_SERVICES=1`` (CI): then they fail.

Also here: ``SsoClient``, which drives a sign-in with httpx (the site and the provider's
development login form) for the tests that tamper with the callback.
"""

import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import jwt
import pytest
from allauth.socialaccount.models import SocialApp
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.services import REQUIRE_SERVICES

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "oidc_provider"
CLIENT_ID = "seedream"
SHORT_CODE_CLIENT_ID = "seedream-short-code"  # its codes expire after one second
ALLOWED_DOMAIN = "team.test"
KEY_ID = "test-signing-key"
PROVIDER_IDS = ("sso", "sso-short")


@dataclass(frozen=True)
class OidcProvider:
    issuer: str
    private_key: rsa.RSAPrivateKey  # the key the provider signs ID tokens with


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def _npm_ci() -> None:
    installed = PROVIDER_DIR / "node_modules" / ".package-lock.json"
    lock = PROVIDER_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=PROVIDER_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        _unavailable(f"npm ci failed in {PROVIDER_DIR}:\n{result.stdout}{result.stderr}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def private_jwks(key: rsa.RSAPrivateKey) -> dict:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    jwk.update(kid=KEY_ID, alg="RS256", use="sig")
    return {"keys": [jwk]}


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory) -> Iterator[OidcProvider]:
    """The provider, started once per run, its clients allowed back to the live server."""
    if not (shutil.which("node") and shutil.which("npm")):
        _unavailable("the single sign-on tests need Node.js and npm")
    _npm_ci()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks_file = tmp_path_factory.mktemp("oidc") / "jwks.json"
    jwks_file.write_text(json.dumps(private_jwks(key)))
    port = _free_port()
    site = urlsplit(live_server.url)
    redirect_uris = [
        f"http://{host}:{site.port}/oidc/{provider_id}/login/callback/"
        for host in ("localhost", "127.0.0.1")
        for provider_id in PROVIDER_IDS
    ]
    process = subprocess.Popen(
        ["node", "server.js"],
        cwd=PROVIDER_DIR,
        env={
            "PATH": shutil.which("node").rpartition("/")[0],  # type: ignore[union-attr]
            "OIDC_TEST_PORT": str(port),
            "OIDC_TEST_REDIRECT_URIS": ",".join(redirect_uris),
            "OIDC_TEST_JWKS_FILE": str(jwks_file),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = process.stdout.read() if process.stdout else ""
                pytest.fail(f"the OpenID provider did not start:\n{output}")
            time.sleep(0.2)
    yield OidcProvider(issuer=issuer, private_key=key)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def sso_app_create(
    provider: OidcProvider, *, provider_id: str = "sso", client_id: str = CLIENT_ID
) -> SocialApp:
    """The provider as staff would set it up in the admin (Social applications)."""
    return SocialApp.objects.create(
        provider="openid_connect",
        provider_id=provider_id,
        name="Team SSO",
        client_id=client_id,
        secret=f"{client_id}-secret",
        settings={"server_url": provider.issuer, "allowed_domains": [ALLOWED_DOMAIN]},
    )


@pytest.fixture
def sso_app(oidc_provider, transactional_db) -> SocialApp:
    return sso_app_create(oidc_provider)


_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


class SsoClient:
    """A browser's part in a sign-in, by httpx: the site's cookies and the provider's."""

    def __init__(self, site_url: str) -> None:
        self.site_url = site_url
        self.http = httpx.Client(timeout=20, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def start(self, provider_id: str = "sso") -> str:
        """Press "Sign in with ..." on the sign-in page: the provider's authorization URL."""
        self.http.get(f"{self.site_url}/login/").raise_for_status()
        response = self.http.post(
            f"{self.site_url}/oidc/{provider_id}/login/",
            data={"csrfmiddlewaretoken": self.http.cookies["csrftoken"]},
        )
        assert response.status_code == 302, response.text
        return response.headers["location"]

    def sign_in_at_provider(self, authorization_url: str, login: str) -> str:
        """Sign in on the provider's login form: the callback URL it sends the browser back
        to (not yet followed)."""
        url = authorization_url
        while True:
            response = self.http.get(url)
            if response.status_code in (302, 303):
                url = urljoin(url, response.headers["location"])
                if url.startswith(self.site_url):
                    return url
                continue
            response.raise_for_status()
            match = _FORM_ACTION.search(response.text)
            assert match, response.text
            response = self.http.post(
                urljoin(url, match.group(1)),
                data={"prompt": "login", "login": login, "password": "any"},
            )
            assert response.status_code in (302, 303), response.text
            url = urljoin(url, response.headers["location"])

    def callback(self, url: str) -> httpx.Response:
        return self.http.get(url)

    def signed_in_username(self) -> str | None:
        """Who the site's session belongs to (the top bar names them); None: nobody."""
        response = self.http.get(f"{self.site_url}/account/credits/")
        if response.status_code != 200:
            return None
        match = re.search(r'<a class="who"[^>]*>([^<]+)</a>', response.text)
        return match.group(1) if match else None
