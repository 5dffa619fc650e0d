"""Budget alerts: a threshold crossed once per period mails who answers for the budget, posts a
signed webhook event to the team, leaves an audit event and shows a notice in the workspace."""

import base64
import datetime
import hashlib
import hmac
import json

import pytest
from celery.exceptions import Retry
from django.urls import reverse

from accounts.models import AuditEvent, Budget, BudgetAlert, BudgetSpend, Membership, Team
from accounts.selectors import budget_notices_for
from accounts.services.budget_admin import budget_set
from accounts.services.budgets import period_bounds
from accounts.services.credits import credit_account_for, team_wallet_for
from accounts.services.keys import api_key_create
from generations import tasks
from generations.catalog import GenerationSpec
from generations.messaging.webhooks import webhook_sign
from generations.services import generation_submit
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.security.loopback import Reply, loopback_server

pytestmark = pytest.mark.django_db

PRICE = 30  # seedream-4.0 per 1K image (the seeded prices)
LIMIT = 150  # 4 images are 80% of it, 5 are all of it


@pytest.fixture
def receiver(settings):
    """The team's webhook receiver on loopback, reachable as ``localhost`` only."""
    settings.FETCH_ALLOW_PRIVATE_HOSTS = ["localhost"]
    with loopback_server() as server:
        server.routes["/budget-hook"] = Reply(status=204)
        yield server


@pytest.fixture
def team(receiver) -> Team:
    return TeamFactory(
        name="Design", slug="design", credits=10_000, webhook_url=receiver.url("/budget-hook")
    )


@pytest.fixture
def people(team):
    """The team's owner, a manager and a plain member (who makes the generations)."""
    return {
        role: MembershipFactory(team=team, role=role, user=UserFactory(username=role)).user
        for role in ("owner", "manager", "member")
    }


@pytest.fixture
def team_budget(team) -> Budget:
    return budget_set(scope=Budget.Scope.TEAM, team=team, limit=LIMIT, actor=None)


@pytest.fixture
def submit(local_account, django_capture_on_commit_callbacks):
    """Submit and run what the commit schedules (the generation, then the alerts' delivery)."""

    def submit(user, images: int, *, wallet=None, api_key=None, prompt: str = "a paper boat"):
        spec = GenerationSpec(model="seedream-4.0", prompt=prompt, size="1K", num_images=images)
        with django_capture_on_commit_callbacks(execute=True):
            return generation_submit(user=user, spec=spec, wallet=wallet, api_key=api_key)

    return submit


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does, written from the Standard Webhooks spec."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return headers["webhook-signature"] == f"v1,{expected}"


def threshold_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="budget.threshold").order_by("id"))


def resets_on() -> datetime.date:
    end = period_bounds("month").end
    assert end is not None
    return end


def as_if_last_month(budget: Budget) -> None:
    """The budget's spending so far moves to the previous period, as if the month had turned
    since (what the next hold sees when the calendar rolls over: a fresh period row)."""
    previous = period_bounds("month", None).start - datetime.timedelta(days=1)
    BudgetSpend.objects.filter(budget=budget).update(period_start=previous.replace(day=1))


# --- crossing 80% -----------------------------------------------------------------------------


def test_crossing_80_percent_mails_the_owners_and_managers_and_posts_a_signed_event(
    team, people, team_budget, submit, receiver, mailoutbox
):
    wallet = team_wallet_for(team)
    submit(people["member"], 3, wallet=wallet)  # 90 of 150: 60%
    assert mailoutbox == []
    assert receiver.requests == []

    submit(people["member"], 1, wallet=wallet)  # 120 of 150: 80%

    [mail] = mailoutbox
    assert sorted(mail.to) == ["manager@example.com", "owner@example.com"]
    assert mail.subject.endswith("Team Design has used 80% of its monthly budget")
    end = resets_on()
    assert "Budget: Team Design, monthly budget" in mail.body
    assert "Threshold: 80% of the limit" in mail.body
    assert "Spent: 120 of 150 credits" in mail.body
    assert f"Resets: {end.day} {end:%B %Y}" in mail.body
    assert "http://127.0.0.1:8000/teams/design/" in mail.body
    assert "refused" not in mail.body
    [html] = [content for content, kind in mail.alternatives if kind == "text/html"]
    assert 'href="http://127.0.0.1:8000/teams/design/"' in html

    [request] = receiver.requests
    team.refresh_from_db()
    assert team.webhook_secret.startswith("whsec_")
    assert verify(team.webhook_secret, request.headers, request.body)
    assert request.headers["webhook-signature"] == webhook_sign(
        secret=team.webhook_secret,
        message_id=request.headers["webhook-id"],
        timestamp=int(request.headers["webhook-timestamp"]),
        body=request.body,
    )
    alert = BudgetAlert.objects.get()
    assert request.headers["webhook-id"] == f"msg_budget_alert_{alert.pk}"
    payload = json.loads(request.body)
    assert payload["type"] == "budget.threshold"
    data = payload["data"]
    assert data["team"] == "design"
    assert data["threshold"] == 80
    assert (data["spent"], data["budget"]["limit"]) == (120, 150)
    assert data["budget"]["scope"] == "team"
    assert data["resets_on"] == end.isoformat()
    assert data["message"] == (
        f"Team Design has used 80% of its monthly budget (120 of 150 credits; "
        f"resets {end.day} {end:%B})."
    )

    [event] = threshold_events()
    assert event.after["threshold"] == 80
    # Each delivery is recorded on the alert, so it is never repeated.
    assert AuditEvent.objects.filter(action="budget.alert_mailed").count() == 1
    assert AuditEvent.objects.filter(action="budget.webhook_delivered").count() == 1


def test_a_second_crossing_in_the_period_sends_nothing_and_the_next_period_alerts_again(
    team, people, team_budget, submit, receiver, mailoutbox
):
    wallet = team_wallet_for(team)
    # Refused by the provider: the hold crosses 80%, then comes back.
    submit(people["member"], 4, wallet=wallet, prompt="a paper boat [refuse]")
    assert len(mailoutbox) == 1
    assert BudgetSpend.objects.get().spent == 0

    submit(people["member"], 4, wallet=wallet)  # 80% again, the same month

    assert len(mailoutbox) == 1
    assert len(receiver.requests) == 1
    assert len(threshold_events()) == 1

    as_if_last_month(team_budget)
    submit(people["member"], 4, wallet=wallet)

    assert len(mailoutbox) == 2
    assert len(receiver.requests) == 2
    assert len(threshold_events()) == 2
    first, second = (json.loads(request.body)["data"] for request in receiver.requests)
    assert first["alert_id"] != second["alert_id"]
    assert second["period_start"] == period_bounds("month").start.isoformat()
    assert BudgetSpend.objects.filter(budget=team_budget).count() == 2


def test_reaching_100_percent_alerts_once_and_says_what_is_refused(
    team, people, team_budget, submit, receiver, mailoutbox
):
    wallet = team_wallet_for(team)
    submit(people["member"], 4, wallet=wallet)  # 80%
    submit(people["member"], 1, wallet=wallet, prompt="a paper boat [refuse]")  # 100%, back
    submit(people["member"], 1, wallet=wallet)  # 100% again, the same month

    assert [mail.subject.split("] ")[1] for mail in mailoutbox] == [
        "Team Design has used 80% of its monthly budget",
        "Team Design has used 100% of its monthly budget",
    ]
    assert "New generations this budget applies to are refused" in mailoutbox[1].body
    assert [json.loads(request.body)["data"]["threshold"] for request in receiver.requests] == [
        80,
        100,
    ]
    assert [event.after["threshold"] for event in threshold_events()] == [80, 100]


def test_a_member_budget_mails_the_managers_and_posts_to_the_team(
    team, people, submit, receiver, mailoutbox
):
    budget_set(scope=Budget.Scope.MEMBER, team=team, user=people["member"], limit=LIMIT, actor=None)

    submit(people["member"], 4, wallet=team_wallet_for(team))

    [mail] = mailoutbox
    assert sorted(mail.to) == ["manager@example.com", "owner@example.com"]
    assert mail.subject.endswith("member has used 80% of their monthly budget in team Design")
    [request] = receiver.requests
    assert json.loads(request.body)["data"]["member"] == "member"


def test_a_personal_budget_mails_the_user_and_posts_nothing(
    user, submit, receiver, team, mailoutbox
):
    budget_set(scope=Budget.Scope.USER, user=user, limit=LIMIT, actor=None)

    submit(user, 4)

    [mail] = mailoutbox
    assert mail.to == [user.email]
    assert mail.subject.endswith("You have used 80% of your personal monthly budget")
    assert "http://127.0.0.1:8000/account/credits/" in mail.body
    assert receiver.requests == []


def test_a_key_budget_mails_the_keys_owner(user, submit, receiver, mailoutbox):
    created = api_key_create(user=user, name="render farm")
    budget_set(scope=Budget.Scope.KEY, api_key=created.api_key, limit=LIMIT, actor=None)

    submit(user, 4, api_key=created.api_key, wallet=credit_account_for(user))

    [mail] = mailoutbox
    assert mail.to == [user.email]
    assert mail.subject.endswith("Your API key “render farm” has used 80% of its monthly budget")
    assert "http://127.0.0.1:8000/account/keys/" in mail.body


# --- delivery: once, and retried --------------------------------------------------------------


def test_a_redelivered_task_sends_nothing_twice(
    team, people, team_budget, submit, receiver, mailoutbox
):
    submit(people["member"], 4, wallet=team_wallet_for(team))
    alert = BudgetAlert.objects.get()

    tasks.deliver_budget_alert_task.delay(alert_id=alert.pk)

    assert len(mailoutbox) == 1
    assert len(receiver.requests) == 1


def test_a_failed_webhook_try_is_retried_with_the_same_id_and_the_mail_is_not_repeated(
    team, people, team_budget, submit, receiver, mailoutbox
):
    receiver.routes["/budget-hook"] = Reply(status=503)

    # The first try fails: the task asks the broker to run it again later (tests run tasks
    # eagerly, so the retry is not run here; the failure is logged by the commit's callback).
    submit(people["member"], 4, wallet=team_wallet_for(team))

    assert len(mailoutbox) == 1
    assert len(receiver.requests) == 1
    assert not AuditEvent.objects.filter(action="budget.webhook_delivered").exists()
    alert = BudgetAlert.objects.get()
    with pytest.raises(Retry):
        tasks.deliver_budget_alert_task.delay(alert_id=alert.pk)  # still failing: again later

    receiver.routes["/budget-hook"] = Reply(status=204)
    tasks.deliver_budget_alert_task.delay(alert_id=alert.pk)  # the retry that succeeds

    assert len(mailoutbox) == 1
    ids = {request.headers["webhook-id"] for request in receiver.requests}
    assert (len(receiver.requests), ids) == (3, {f"msg_budget_alert_{alert.pk}"})
    assert AuditEvent.objects.filter(action="budget.webhook_delivered").count() == 1


def test_the_task_retries_a_failed_delivery_with_backoff():
    task = tasks.deliver_budget_alert_task
    assert task.acks_late
    assert task.max_retries == 5
    assert task.retry_backoff == 30
    assert tasks.BudgetWebhookFailed in task.autoretry_for


# --- the workspace notice ---------------------------------------------------------------------


def test_the_workspace_shows_the_notice_to_a_member_and_not_to_an_outsider(
    team, people, team_budget, submit, client, other_user
):
    submit(people["member"], 4, wallet=team_wallet_for(team))
    end = resets_on()

    client.force_login(people["member"])
    page = client.get(reverse("workspace")).content.decode()
    assert (
        f"Team Design has used 80% of its monthly budget (120 of 150 credits; "
        f"resets {end.day} {end:%B})."
    ) in page
    assert 'href="/teams/design/"' in page

    client.force_login(other_user)
    assert "monthly budget" not in client.get(reverse("workspace")).content.decode()


def test_notices_concern_the_users_own_budgets_and_show_the_highest_threshold(
    team, people, team_budget, submit, user, other_user
):
    budget_set(scope=Budget.Scope.USER, user=user, limit=LIMIT, actor=None)
    submit(user, 5)  # 80% and 100% of the personal budget at once
    submit(people["member"], 4, wallet=team_wallet_for(team))

    [mine] = budget_notices_for(user)
    assert mine.threshold == 100
    assert mine.sentence.startswith("You have used 100% of your personal monthly budget")
    assert [notice.budget for notice in budget_notices_for(people["owner"])] == [team_budget]
    assert budget_notices_for(other_user) == []
    # A member who left no longer sees the team's notices.
    Membership.objects.filter(user=people["manager"]).delete()
    assert budget_notices_for(people["manager"]) == []


def test_notices_of_an_ended_period_are_not_shown(team, people, team_budget, submit):
    submit(people["member"], 4, wallet=team_wallet_for(team))

    as_if_last_month(team_budget)

    assert budget_notices_for(people["member"]) == []
