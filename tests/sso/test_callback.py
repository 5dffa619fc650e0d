"""The single sign-on callback against a real OpenID provider (tests/oidc_provider), driven by
httpx: a sign-in that works, then replies tampered with, expired or refused, and the callback's
lockout after repeated failures."""

import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from allauth.socialaccount.models import SocialAccount

from accounts.models import User
from tests.sso.oidc_server import SHORT_CODE_CLIENT_ID, SsoClient, sso_app_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client_http(live_server):
    client = SsoClient(live_server.url)
    yield client
    client.close()


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_a_sign_in_on_an_allowed_domain_creates_the_account(sso_app, client_http):
    callback = client_http.sign_in_at_provider(client_http.start(), "ana")
    response = client_http.callback(callback)
    assert response.status_code == 302, response.text
    assert client_http.signed_in_username() == "ana"
    account = SocialAccount.objects.get(provider="sso", uid="ana")
    assert account.user.email == "ana@team.test"


def test_a_tampered_state_signs_nobody_in(sso_app, client_http):
    callback = client_http.sign_in_at_provider(client_http.start(), "ana")
    response = client_http.callback(_with_query(callback, state="x" * 16))
    assert "Single sign-on failed" in response.text
    assert client_http.signed_in_username() is None
    assert not User.objects.filter(email="ana@team.test").exists()


def test_a_callback_without_the_sign_in_it_answers_signs_nobody_in(
    sso_app, client_http, live_server
):
    # The callback URL, with its genuine code and state, opened in another browser.
    callback = client_http.sign_in_at_provider(client_http.start(), "ana")
    other = SsoClient(live_server.url)
    try:
        response = other.callback(callback)
        assert "Single sign-on failed" in response.text
        assert other.signed_in_username() is None
    finally:
        other.close()
    assert not User.objects.filter(email="ana@team.test").exists()


def test_an_expired_code_signs_nobody_in(oidc_provider, transactional_db, client_http):
    sso_app_create(oidc_provider, provider_id="sso-short", client_id=SHORT_CODE_CLIENT_ID)
    callback = client_http.sign_in_at_provider(client_http.start("sso-short"), "ana")
    time.sleep(2.5)  # the provider gives this client's codes one second
    response = client_http.callback(callback)
    assert "Single sign-on failed" in response.text
    assert client_http.signed_in_username() is None
    assert not User.objects.filter(email="ana@team.test").exists()


def test_a_code_is_good_for_one_sign_in(sso_app, client_http):
    callback = client_http.sign_in_at_provider(client_http.start(), "ana")
    assert client_http.callback(callback).status_code == 302
    client_http.http.cookies.clear()
    response = client_http.callback(callback)
    assert "Single sign-on failed" in response.text
    assert client_http.signed_in_username() is None


def test_an_address_on_another_domain_is_refused(sso_app, client_http):
    callback = client_http.sign_in_at_provider(client_http.start(), "olga")
    response = client_http.callback(callback)
    assert response.status_code == 403
    assert "no account for olga@elsewhere.test here" in response.text
    assert "ask a staff member of your team for an invitation" in response.text.lower()
    assert client_http.signed_in_username() is None
    assert not User.objects.filter(email="olga@elsewhere.test").exists()


def test_an_unverified_address_is_not_linked_to_its_account(sso_app, client_http):
    User.objects.create_user(username="uma", email="uma@team.test", password="x-long-pass-1")
    callback = client_http.sign_in_at_provider(client_http.start(), "uma")
    response = client_http.callback(callback)
    assert response.status_code == 403
    assert "did not confirm an email address" in response.text
    assert not SocialAccount.objects.exists()


def test_failed_callbacks_lock_the_address(sso_app, client_http, settings):
    settings.LOGIN_FAILURES_PER_IP = 2
    for _ in range(2):
        callback = client_http.sign_in_at_provider(client_http.start(), "ana")
        response = client_http.callback(_with_query(callback, state="x"))
        assert "Single sign-on failed" in response.text
    # Now even a genuine reply waits for the lock to end.
    callback = client_http.sign_in_at_provider(client_http.start(), "ana")
    response = client_http.callback(callback)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert client_http.signed_in_username() is None
