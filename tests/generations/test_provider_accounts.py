import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent, CreditAccount
from generations.catalog import GenerationSpec
from generations.models import Generation, ProviderAccount, ProviderAttempt
from generations.providers import BadRequest, ContentRefused, RateLimited, Unavailable
from generations.security.credentials import credential_decrypt
from generations.services import generation_submit
from generations.services.provider_accounts import (
    ProviderAccountInput,
    provider_account_create,
    provider_account_record_outcome,
)
from generations.services.routing import account_config, accounts_for_model
from tests.factories import ProviderAccountFactory

pytestmark = pytest.mark.django_db

SECRET = "sk-live-very-secret-value-123456"


def run(*args: str, stdin: str = "") -> str:
    out = io.StringIO()
    call_command("provider_account", *args, stdout=out, stdin=io.StringIO(stdin))
    return out.getvalue()


def add_local(
    label: str, *, priority: int, simulate: str = "", models="seedream-4.0"
) -> ProviderAccount:
    account = ProviderAccountFactory(
        kind="local",
        label=label,
        priority=priority,
        models_served=models.split(","),
        options={"simulate_error": simulate} if simulate else {},
    )
    return account


def test_add_reads_the_key_from_an_environment_variable_and_stores_it_encrypted(monkeypatch):
    monkeypatch.setenv("TEAM_ARK_KEY", SECRET)
    output = run(
        "add", "--kind", "local", "--label", "Team demo", "--models", "seedream-4.0,seedream-4.5"
    )
    assert "Added Team demo" in output
    account = ProviderAccount.objects.get(label="Team demo")
    assert account.models_served == ["seedream-4.0", "seedream-4.5"]
    event = AuditEvent.objects.get(action="provider_account.created")
    assert event.after["label"] == "Team demo"


def test_set_key_reads_stdin_encrypts_and_never_prints_it(monkeypatch):
    account = add_local("Demo", priority=1)
    output = run("set-key", "Demo", stdin=SECRET + "\n")
    account.refresh_from_db()
    assert SECRET not in account.credentials_encrypted
    assert credential_decrypt(account.credentials_encrypted) == SECRET
    assert account_config(account).api_key == SECRET
    assert SECRET not in output
    assert SECRET not in run("list")
    assert SECRET not in repr(account_config(account))
    for event in AuditEvent.objects.all():
        assert SECRET not in str(event.before) + str(event.after)


def test_add_with_an_empty_key_variable_is_refused(monkeypatch):
    monkeypatch.setenv("EMPTY_KEY", "")
    with pytest.raises(CommandError, match="EMPTY_KEY is empty"):
        run(
            "add",
            "--kind",
            "local",
            "--label",
            "x",
            "--models",
            "seedream-4.0",
            "--api-key-env",
            "EMPTY_KEY",
        )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--kind", "nope", "--label", "x", "--models", "seedream-4.0"], "nope"),
        (["--kind", "local", "--label", "x", "--models", "seedream-9"], "unknown models"),
        (
            ["--kind", "local", "--label", "x", "--models", "seedream-4.0", "--model-id", "bad"],
            "CATALOG_ID=PROVIDER_ID",
        ),
    ],
)
def test_add_refuses_bad_input_with_a_clear_message(arguments, message):
    with pytest.raises(CommandError, match=message):
        run("add", *arguments)
    assert not ProviderAccount.objects.exists()


def test_disable_enable_and_check_write_audit_events():
    add_local("Demo", priority=1)
    run("disable", "Demo", "--reason", "maintenance")
    assert not ProviderAccount.objects.get(label="Demo").enabled
    run("enable", "Demo")
    assert ProviderAccount.objects.get(label="Demo").enabled
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["provider_account.disabled", "provider_account.enabled"]
    assert "OK" in run("check", "Demo")


def test_check_reports_refused_credentials():
    add_local("Broken", priority=1, simulate="auth")
    with pytest.raises(CommandError, match="auth_failed"):
        run("check", "Broken")


def test_key_rotation_keeps_credentials_readable(settings):
    old, new = (
        "kJ4y7mC0yXo3b1gk0lKjW3sRjY2ZcQm9X8d1nqK3x2E=",
        "Zq8yF6k1pW3vVt1mS0eR4uY9oP2aL5nB7cX3dG6hJ1k=",
    )
    settings.PROVIDER_CREDENTIALS_KEYS = [old]
    account = add_local("Demo", priority=1)
    run("set-key", "Demo", stdin=SECRET)
    settings.PROVIDER_CREDENTIALS_KEYS = [new, old]
    assert "1 accounts" in run("rotate-keys")
    settings.PROVIDER_CREDENTIALS_KEYS = [new]
    account.refresh_from_db()
    assert credential_decrypt(account.credentials_encrypted) == SECRET


def test_routing_prefers_priority_then_recent_health():
    first = add_local("first", priority=1)
    second = add_local("second", priority=2)
    add_local("other model", priority=0, models="seedream-4.5")
    assert accounts_for_model(model_id="seedream-4.0") == [first, second]
    from django.utils import timezone

    ProviderAccount.objects.filter(pk=first.pk).update(last_failure_at=timezone.now())
    assert accounts_for_model(model_id="seedream-4.0") == [second, first]


@pytest.mark.parametrize(
    ("error", "marked_failing"),
    [
        (BadRequest(message="this version takes no 4K"), False),
        (ContentRefused(message="flagged"), False),
        (Unavailable(message="503", before_accepted=True), True),
        (RateLimited(message="429"), True),
    ],
    ids=["refused-request", "content-refusal", "outage", "rate-limited"],
)
def test_only_the_accounts_own_failures_mark_it_failing(error, marked_failing):
    account = add_local("Demo", priority=1)

    provider_account_record_outcome(account=account, error=error)

    account.refresh_from_db()
    assert (account.last_failure_at is not None) == marked_failing


def test_a_success_after_a_failure_is_recorded_however_recent_the_last_success():
    from django.utils import timezone

    first = add_local("first", priority=1)
    second = add_local("second", priority=2)
    provider_account_record_outcome(account=first, error=None)
    provider_account_record_outcome(account=first, error=RateLimited(message="429"))
    first.refresh_from_db()
    assert accounts_for_model(model_id="seedream-4.0") == [second, first]
    written = first.last_success_at

    # Seconds after the last recorded success, yet it must be written: the failure came since.
    provider_account_record_outcome(account=first, error=None)

    first.refresh_from_db()
    assert first.last_success_at > written
    assert accounts_for_model(model_id="seedream-4.0") == [first, second]
    # While healthy, successes within the resolution are not written again.
    provider_account_record_outcome(account=first, error=None)
    assert ProviderAccount.objects.get(pk=first.pk).last_success_at == first.last_success_at
    assert timezone.now() - first.last_success_at < timedelta(seconds=30)


def submit_and_run(user, django_capture_on_commit_callbacks) -> Generation:
    with django_capture_on_commit_callbacks(execute=True):
        generation = generation_submit(
            user=user,
            spec=GenerationSpec(model="seedream-4.0", prompt="failover", size="1K", num_images=2),
        )
    generation.refresh_from_db()
    return generation


def test_failover_to_the_next_account_charges_once(
    user, default_prices, django_capture_on_commit_callbacks
):
    down = add_local("down", priority=1, simulate="unavailable")
    healthy = add_local("healthy", priority=2)
    generation = submit_and_run(user, django_capture_on_commit_callbacks)
    assert generation.status == Generation.Status.SUCCEEDED
    assert generation.credits_charged == 2 * 30
    attempts = list(generation.attempts.order_by("id").values_list("account_id", "outcome"))
    assert attempts == [(down.pk, "failed"), (healthy.pk, "succeeded")]


def test_no_failover_on_a_content_refusal(user, default_prices, django_capture_on_commit_callbacks):
    add_local("first", priority=1)
    add_local("second", priority=2)
    with django_capture_on_commit_callbacks(execute=True):
        generation = generation_submit(
            user=user,
            spec=GenerationSpec(model="seedream-4.0", prompt="nope [refuse]", size="1K"),
        )
    generation.refresh_from_db()
    assert generation.status == Generation.Status.FAILED
    assert generation.error_code == "content_refused"
    assert ProviderAttempt.objects.filter(generation=generation).count() == 1


def test_an_account_failing_auth_repeatedly_is_disabled_with_an_audit_event(
    user, default_prices, django_capture_on_commit_callbacks, settings
):
    settings.PROVIDER_AUTH_FAILURES_TO_DISABLE = 2
    broken = add_local("broken", priority=1, simulate="auth")
    for _ in range(2):
        generation = submit_and_run(user, django_capture_on_commit_callbacks)
        assert generation.status == Generation.Status.FAILED
        # A refused key is not worth a second call to the same account.
        assert generation.attempts.count() == 1
    broken.refresh_from_db()
    assert not broken.enabled
    assert "authentication failures" in broken.disabled_reason
    event = AuditEvent.objects.get(action="provider_account.disabled")
    assert event.actor is None


def test_attempts_are_bounded(user, default_prices, django_capture_on_commit_callbacks, settings):
    settings.PROVIDER_MAX_ATTEMPTS = 2
    for number in range(4):
        add_local(f"down {number}", priority=number, simulate="unavailable")
    generation = submit_and_run(user, django_capture_on_commit_callbacks)
    assert generation.status == Generation.Status.FAILED
    assert generation.attempts.count() == 2
    assert generation.credits_charged == 0


def test_admin_never_shows_the_stored_key_and_saves_through_the_services(admin_client):
    account = add_local("Demo", priority=1)
    run("set-key", "Demo", stdin=SECRET)
    account.refresh_from_db()
    page = admin_client.get(f"/admin/generations/provideraccount/{account.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert SECRET not in body
    assert account.credentials_encrypted not in body

    added = admin_add_account(
        admin_client, kind="local", label="Added in admin", new_api_key="typed-in-secret-987"
    )
    assert credential_decrypt(added.credentials_encrypted) == "typed-in-secret-987"
    event = AuditEvent.objects.get(action="provider_account.created")
    assert "typed-in-secret-987" not in str(event.after)


def test_admin_reads_a_base_url_typed_without_a_scheme_as_https(admin_client):
    added = admin_add_account(
        admin_client, kind="ark", label="Typed without scheme", base_url="ark.example.com/api/v3"
    )
    assert added.base_url == "https://ark.example.com/api/v3"


def admin_add_account(admin_client, **fields) -> ProviderAccount:
    """Submit the admin's "add provider account" form; the account it created."""
    form = {
        "base_url": "",
        "priority": 5,
        "models_served": '["seedream-4.0"]',
        "model_ids": "{}",
        "options": "{}",
        "connect_timeout_s": 10,
        "read_timeout_s": 120,
        "new_api_key": "typed-in-secret-654",
        **fields,
    }
    response = admin_client.post("/admin/generations/provideraccount/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    return ProviderAccount.objects.get(label=form["label"])


def test_an_unreadable_stored_key_fails_over_instead_of_failing_the_generation(
    user, default_prices, django_capture_on_commit_callbacks
):
    broken = add_local("stored under a lost key", priority=1)
    ProviderAccount.objects.filter(pk=broken.pk).update(credentials_encrypted="gAAAAA-not-a-token")
    healthy = add_local("healthy", priority=2)
    generation = submit_and_run(user, django_capture_on_commit_callbacks)
    assert generation.status == Generation.Status.SUCCEEDED
    attempts = list(generation.attempts.order_by("id").values_list("account_id", "error_code"))
    assert attempts == [(broken.pk, "auth_failed"), (healthy.pk, "")]


def test_the_demo_renderer_never_stands_in_for_a_real_provider(
    user, default_prices, django_capture_on_commit_callbacks
):
    """A real account's outage fails the generation and returns the credits; the demo
    renderer, still enabled beside it, is not called (its placeholders would be charged)."""
    demo = add_local("demo", priority=0)
    real = provider_account_create(
        data=ProviderAccountInput(
            kind="byteplus",
            label="byteplus down",
            base_url="http://127.0.0.1:9/api/v3",  # nothing listens: connection refused
            api_key="ark-key",
            models=["seedream-4.0"],
            priority=5,
        ),
        actor=None,
    )
    assert accounts_for_model(model_id="seedream-4.0") == [real]
    available = CreditAccount.objects.get(user=user).available
    generation = submit_and_run(user, django_capture_on_commit_callbacks)
    assert generation.status == Generation.Status.FAILED
    assert generation.credits_charged == 0
    assert CreditAccount.objects.get(user=user).available == available
    assert set(generation.attempts.values_list("account_id", flat=True)) == {real.pk}
    # With no real account serving the model, the demo serves it.
    ProviderAccount.objects.filter(pk=real.pk).update(enabled=False)
    assert accounts_for_model(model_id="seedream-4.0") == [demo]


def test_bootstrap_adds_the_demo_renderer_only_outside_production(settings):
    settings.PRODUCTION = True
    out = io.StringIO()
    call_command("bootstrap_platform", stdout=out)
    assert not ProviderAccount.objects.filter(kind="local").exists()
    assert "demo provider is not added" in out.getvalue()
    settings.PRODUCTION = False
    call_command("bootstrap_platform", stdout=io.StringIO())
    assert ProviderAccount.objects.filter(kind="local").count() == 1
