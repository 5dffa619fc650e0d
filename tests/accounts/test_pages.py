import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKey, AuditEvent, CreditAccount, CreditEntry, User
from accounts.services.credits import credits_grant, credits_hold
from accounts.services.keys import api_key_create, api_key_revoke
from generations.models import Generation
from tests.factories import GenerationFactory, UserFactory

pytestmark = pytest.mark.django_db

KEY_PATTERN = re.compile(r"sds_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def newcomer(db) -> User:
    """A user with no credit account yet, whatever the shared fixtures grant theirs."""
    return UserFactory()


def make_generation(owner: User, prompt: str = "p") -> Generation:
    return GenerationFactory(owner=owner, prompt=prompt)


def grant_and_spend(user: User, *, grants: int) -> None:
    """``grants`` ledger rows, each of them followed by a hold tied to its own generation."""
    for number in range(grants):
        credits_grant(user=user, amount=100, actor=None, memo=f"grant {number}")
        credits_hold(amount=10, generation=make_generation(user, f"prompt {number}"))


@pytest.mark.parametrize("url_name", ["account-keys", "account-credits"])
def test_account_pages_require_login(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_revoke_requires_login(client, user):
    api_key = api_key_create(user=user, name="script").api_key
    response = client.post(reverse("account-key-revoke", args=[api_key.id]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


# --- Keys ---------------------------------------------------------------------------------


def test_created_key_is_shown_once_and_stored_only_as_a_hash(client, user):
    client.force_login(user)
    created = client.post(reverse("account-keys"), {"name": "render farm", "expires_in_days": ""})
    assert (created.status_code, created["Location"]) == (303, reverse("account-keys"))
    assert ApiKey.objects.filter(user=user).count() == 1
    response = client.get(created["Location"])

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    [key] = KEY_PATTERN.findall(body)
    assert "will not be shown again" in body
    assert 'data-copy-target="issued-key-value"' in body
    assert "js/copy.js" in body

    api_key = ApiKey.objects.get(user=user)
    assert api_key.name == "render farm"
    assert api_key.expires_at is None
    assert key.startswith(f"sds_{api_key.prefix}_")
    secret = key.split("_", 2)[2]  # everything after sds_<prefix>_ (the secret may contain _)
    stored = [str(value) for value in ApiKey.objects.filter(pk=api_key.pk).values().get().values()]
    assert all(key not in value and secret not in value for value in stored)
    assert AuditEvent.objects.get(action="api_key.created").after["prefix"] == api_key.prefix

    # A reload shows the key no more and creates nothing.
    listing = client.get(reverse("account-keys")).content.decode()
    assert ApiKey.objects.filter(user=user).count() == 1
    assert key not in listing
    assert secret not in listing
    assert f"sds_{api_key.prefix}_…" in listing
    assert "render farm" in listing


def test_the_key_cookie_works_only_for_its_owner_and_only_signed(client, user, other_user):
    client.force_login(user)
    created = client.post(reverse("account-keys"), {"name": "mine", "expires_in_days": ""})
    carried = created.cookies["issued_api_key"]
    assert carried["httponly"]
    assert carried["max-age"] == 60
    assert carried["path"] == reverse("account-keys")
    client.force_login(other_user)  # another session presenting the cookie sees nothing
    client.cookies["issued_api_key"] = carried.value
    assert not KEY_PATTERN.findall(client.get(reverse("account-keys")).content.decode())
    client.force_login(user)
    client.cookies["issued_api_key"] = carried.value.replace(":", ";", 1)  # tampered
    assert not KEY_PATTERN.findall(client.get(reverse("account-keys")).content.decode())


def test_key_with_expiry_in_days(client, user):
    client.force_login(user)
    client.post(reverse("account-keys"), {"name": "ci", "expires_in_days": "30"})
    api_key = ApiKey.objects.get(user=user)
    assert api_key.expires_at is not None
    assert 29 < (api_key.expires_at - api_key.created_at).total_seconds() / 86400 <= 30


@pytest.mark.parametrize(
    ("data", "field"),
    [({"name": "   "}, "name"), ({"name": "ci", "expires_in_days": "0"}, "expires_in_days")],
)
def test_invalid_key_form_shows_errors_and_creates_nothing(client, user, data, field):
    client.force_login(user)
    response = client.post(reverse("account-keys"), data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert response.context["issued"] is None
    assert not ApiKey.objects.exists()


def test_keys_page_shows_status_and_revoke_only_for_active_keys(client, user, other_user):
    active = api_key_create(user=user, name="active-key").api_key
    revoked = api_key_create(user=user, name="revoked-key").api_key
    api_key_revoke(api_key=revoked, actor=user)
    expired = api_key_create(user=user, name="expired-key").api_key
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=expired.created_at)
    theirs = api_key_create(user=other_user, name="their-key").api_key

    client.force_login(user)
    body = client.get(reverse("account-keys")).content.decode()

    assert 'data-status="active">Active' in body
    assert 'data-status="revoked">Revoked' in body
    assert 'data-status="expired">Expired' in body
    assert reverse("account-key-revoke", args=[active.id]) in body
    assert reverse("account-key-revoke", args=[revoked.id]) not in body
    assert reverse("account-key-revoke", args=[expired.id]) not in body
    assert "their-key" not in body
    assert theirs.prefix not in body


def test_revoke_marks_the_key_and_writes_an_audit_event(client, user):
    api_key = api_key_create(user=user, name="script").api_key
    client.force_login(user)

    response = client.post(
        reverse("account-key-revoke", args=[api_key.id]), REMOTE_ADDR="203.0.113.7", follow=True
    )

    assert response.redirect_chain == [(reverse("account-keys"), 302)]
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    event = AuditEvent.objects.get(action="api_key.revoked")
    assert event.actor == user
    assert event.target_id == str(api_key.pk)
    assert event.ip_address == "203.0.113.7"
    assert "Revoked “script”" in response.content.decode()


def test_revoke_is_post_only(client, user):
    api_key = api_key_create(user=user, name="script").api_key
    client.force_login(user)
    assert client.get(reverse("account-key-revoke", args=[api_key.id])).status_code == 405
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


def test_another_users_key_is_404_and_stays_active(client, user, other_user):
    theirs = api_key_create(user=other_user, name="theirs").api_key
    client.force_login(user)
    response = client.post(reverse("account-key-revoke", args=[theirs.id]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert not AuditEvent.objects.filter(action="api_key.revoked").exists()


def test_keys_page_query_count_does_not_grow_with_keys(client, user):
    client.force_login(user)
    for number in range(3):
        api_key_create(user=user, name=f"key {number}")
    client.get(reverse("account-keys"))  # notes the session's activity (once a minute)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("account-keys")).status_code == 200
    for number in range(3, 30):
        api_key_create(user=user, name=f"key {number}")
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("account-keys")).status_code == 200
    assert len(many) == len(few)


# --- Credits ------------------------------------------------------------------------------


def test_credits_page_for_a_user_without_an_account_shows_zero_and_writes_nothing(client, newcomer):
    client.force_login(newcomer)
    response = client.get(reverse("account-credits"))
    assert response.status_code == 200
    assert response.context["balance"].available == 0
    assert response.context["balance"].held == 0
    assert "No credit changes yet" in response.content.decode()
    assert not CreditAccount.objects.filter(user=newcomer).exists()


def test_credits_page_shows_balance_and_entries_with_a_generation_link(
    client, newcomer, other_user
):
    credits_grant(user=newcomer, amount=1000, actor=other_user, memo="Welcome aboard")
    generation = make_generation(newcomer, "a lighthouse at dusk")
    credits_hold(amount=40, generation=generation)
    client.force_login(newcomer)

    response = client.get(reverse("account-credits"))

    assert response.status_code == 200
    assert response.context["balance"].available == 960
    assert response.context["balance"].held == 40
    body = response.content.decode()
    assert "<dd>960</dd>" in body
    assert "<dd>40</dd>" in body
    assert "Welcome aboard" in body
    assert f"by {other_user.get_username()}" in body
    assert "+1,000" in body
    assert "-40" in body
    assert reverse("generation-detail", args=[generation.id]) in body
    assert "a lighthouse at dusk" in body
    assert [line["line_kind"] for line in response.context["page"].object_list] == [
        "generation",
        CreditEntry.Kind.GRANT,
    ]


def test_a_deleted_generation_in_the_ledger_says_so_instead_of_linking_to_a_404(client, newcomer):
    credits_grant(user=newcomer, amount=1000, actor=None, memo="Welcome aboard")
    generation = make_generation(newcomer, "a lighthouse at dusk")
    credits_hold(amount=40, generation=generation)
    type(generation).objects.filter(pk=generation.pk).update(deleted_at=timezone.now())
    client.force_login(newcomer)
    body = client.get(reverse("account-credits")).content.decode()
    assert "a lighthouse at dusk (deleted)" in body
    assert reverse("generation-detail", args=[generation.id]) not in body


def test_credits_page_shows_only_the_users_own_entries(client, user, other_user):
    credits_grant(user=other_user, amount=70, actor=None, memo="not yours")
    client.force_login(user)
    body = client.get(reverse("account-credits")).content.decode()
    assert "not yours" not in body


def test_credits_history_is_paginated_by_25(client, newcomer):
    grant_and_spend(newcomer, grants=15)  # 30 entries
    client.force_login(newcomer)

    first = client.get(reverse("account-credits"))
    second = client.get(reverse("account-credits"), {"page": 2})
    beyond = client.get(reverse("account-credits"), {"page": "99"})

    assert len(first.context["page"].object_list) == 25
    assert 'href="?page=2"' in first.content.decode()
    assert "Page 1 of 2" in first.content.decode()
    assert len(second.context["page"].object_list) == 5
    assert 'href="?page=1"' in second.content.decode()
    assert beyond.context["page"].number == 2  # out of range shows the last page


def test_credits_page_query_count_does_not_grow_with_entries(
    client, user, django_assert_max_num_queries
):
    client.force_login(user)
    grant_and_spend(user, grants=2)  # 4 entries, 2 of them with a generation
    client.get(reverse("account-credits"))  # notes the session's activity (once a minute)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("account-credits")).status_code == 200
    grant_and_spend(user, grants=13)  # 30 entries, a full page of 25
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("account-credits")).status_code == 200
    assert len(many) == len(few)
    # session, user, balance, personal budget, teams, page count, page rows, the page's
    # day totals, nav balance
    with django_assert_max_num_queries(9):
        client.get(reverse("account-credits"), {"page": 2})


# --- Navigation ---------------------------------------------------------------------------


def test_nav_links_and_balance_on_every_page(client, newcomer):
    credits_grant(user=newcomer, amount=12345, actor=None, memo="seed")
    client.force_login(newcomer)
    for url in [reverse("workspace"), reverse("account-keys"), reverse("account-credits")]:
        body = client.get(url).content.decode()
        assert f'href="{reverse("account-keys")}"' in body
        assert f'href="{reverse("account-credits")}"' in body
        assert '<span class="balance" id="nav-balance">12,345 credits</span>' in body


def test_nav_balance_is_zero_without_an_account(client, newcomer):
    client.force_login(newcomer)
    body = client.get(reverse("account-keys")).content.decode()
    assert '<span class="balance" id="nav-balance">0 credits</span>' in body
    assert not CreditAccount.objects.filter(user=newcomer).exists()


def test_balance_context_processor_costs_one_query(rf, newcomer, django_assert_num_queries):
    from accounts.context_processors import balance

    credits_grant(user=newcomer, amount=250, actor=None, memo="seed")
    request = rf.get("/")
    request.user = newcomer
    context = balance(request)
    with django_assert_num_queries(1):
        assert context["credit_balance"] == 250
        assert context["credit_balance"] == 250  # evaluated once


def test_balance_context_processor_adds_nothing_for_visitors(rf):
    from django.contrib.auth.models import AnonymousUser

    from accounts.context_processors import balance

    request = rf.get("/")
    request.user = AnonymousUser()
    assert balance(request) == {}


# --- Signup -------------------------------------------------------------------------------


def signup_data(**overrides: str) -> dict[str, str]:
    data = {
        "username": "newcomer",
        "email": "newcomer@example.com",
        "password1": "a-long-unusual-passphrase",
        "password2": "a-long-unusual-passphrase",
    }
    data.update(overrides)
    return data


def test_signup_is_closed_by_default(client):
    assert client.get(reverse("signup")).status_code == 404
    assert client.post(reverse("signup"), signup_data()).status_code == 404
    assert not User.objects.filter(username="newcomer").exists()
    assert f'href="{reverse("signup")}"' not in client.get(reverse("login")).content.decode()


def test_open_signup_creates_user_grants_credits_and_logs_in(client, settings):
    settings.SIGNUP_OPEN = True
    settings.SIGNUP_INITIAL_CREDITS = 500
    assert f'href="{reverse("signup")}"' in client.get(reverse("login")).content.decode()
    page = client.get(reverse("signup"))
    assert page.status_code == 200
    for field in ["username", "email", "password1", "password2"]:
        assert f'<label for="id_{field}">' in page.content.decode()

    response = client.post(reverse("signup"), signup_data())

    assert response.status_code == 302
    assert response.url == reverse("workspace")
    user = User.objects.get(username="newcomer")
    assert user.check_password("a-long-unusual-passphrase")
    assert CreditAccount.objects.get(user=user).available == 500
    entry = CreditEntry.objects.get(account__user=user)
    assert entry.kind == CreditEntry.Kind.GRANT
    assert entry.amount == 500
    assert entry.memo == "Initial credits on signup"
    assert client.get(reverse("workspace")).context["user"] == user


def test_open_signup_without_initial_credits_writes_no_ledger(client, settings):
    settings.SIGNUP_OPEN = True
    settings.SIGNUP_INITIAL_CREDITS = 0
    response = client.post(reverse("signup"), signup_data())
    assert response.status_code == 302
    assert not CreditEntry.objects.filter(account__user__username="newcomer").exists()


def test_open_signup_shows_form_errors(client, settings, user):
    settings.SIGNUP_OPEN = True
    settings.SIGNUP_INITIAL_CREDITS = 500
    response = client.post(
        reverse("signup"), signup_data(username=user.username.upper(), password2="different")
    )
    assert response.status_code == 200  # the signup page again, with its errors
    errors = response.context["form"].errors
    assert "username" in errors
    assert "password2" in errors
    assert not User.objects.filter(username="newcomer").exists()
    assert not CreditEntry.objects.filter(memo="Initial credits on signup").exists()
