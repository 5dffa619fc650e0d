"""Who pays, through the APIs: API keys bound to a team, a key's budget, policy and running
limit, and the team-level limits a request naming ``"team"`` meets (native and OpenAI-compatible
endpoints)."""

import datetime
from zoneinfo import ZoneInfo

import httpx
import openai
import pytest
import time_machine
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Budget, CreditAccount, CreditEntry, Membership, ModelPrice, Team, User
from accounts.services.budget_admin import budget_set
from accounts.services.budgets import period_bounds
from accounts.services.credits import credit_account_for, team_wallet_for
from accounts.services.keys import (
    KeyPolicy,
    api_key_budget_set,
    api_key_create,
    api_key_policy_set,
)
from accounts.services.teams import team_member_remove
from generations.models import Generation
from seedream_site.wsgi import application
from tests.conftest import funded_user
from tests.factories import GenerationFactory, MembershipFactory, TeamFactory

BODY = {"model": "seedream-4.0", "prompt": "a lighthouse at dawn", "size": "1K"}
PRICE = 30  # seedream-4.0, every size (the seeded prices)
OWN_CREDITS = 10_000
TEAM_CREDITS = 100_000


@pytest.fixture
def member(db) -> User:
    return funded_user(OWN_CREDITS, username="ana")


@pytest.fixture
def design(member) -> Team:
    team = TeamFactory(name="Design", slug="design", credits=TEAM_CREDITS)
    MembershipFactory(team=team, user=member, role=Membership.Role.MEMBER)
    return team


def bearer(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def bound_client(user: User, team: Team | None, *, name: str = "ci", **policy) -> APIClient:
    issued = api_key_create(user=user, name=name, team=team, policy=KeyPolicy(**policy))
    return bearer(issued.key)


def sdk_client(raw_key: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url="http://testserver/v1",
        api_key=raw_key,
        max_retries=0,
        http_client=httpx.Client(transport=httpx.WSGITransport(app=application)),
    )


def own_available(user: User) -> int:
    return CreditAccount.objects.get(user=user).available


def team_available(team: Team) -> int:
    return CreditAccount.objects.get(team=team).available


def resets(period: str) -> str:
    end = period_bounds(period).end
    assert end is not None
    return f"{end.day} {end:%B}"


def frozen(year: int, month: int, day: int) -> time_machine.travel:
    """Time stopped at noon of a local date, so a refusal's "until …" is known."""
    moment = datetime.datetime(year, month, day, 12, tzinfo=ZoneInfo(settings.TIME_ZONE))
    return time_machine.travel(moment, tick=False)


def error_of(response) -> dict:
    return response.json()["error"]


# --- Keys bound to a team --------------------------------------------------------------------


def test_key_create_takes_a_team_and_shows_it(member, design):
    response = bound_client(member, None).post(
        "/api/v1/keys", {"name": "render farm", "team": "design"}, format="json"
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["team"] == "design"
    listed = {key["name"]: key for key in bearer(created["key"]).get("/api/v1/keys").json()}
    assert listed["render farm"]["team"] == "design"
    assert listed["ci"]["team"] is None


def test_key_create_with_a_policy_shows_it(member, design):
    response = bound_client(member, None).post(
        "/api/v1/keys",
        {
            "name": "thumbnails",
            "allowed_models": ["seedream-4.0"],
            "max_size_tier": "2K",
            "max_images_per_request": 2,
            "max_running": 3,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (
        created["allowed_models"],
        created["max_size_tier"],
        created["max_images_per_request"],
        created["max_running"],
    ) == (["seedream-4.0"], "2K", 2, 3)


@pytest.mark.parametrize("slug", ["ops", "nowhere"])
def test_a_key_can_be_bound_only_to_one_of_the_users_teams(member, design, slug):
    TeamFactory(name="Ops", slug="ops")  # exists, but the member is not in it
    response = bound_client(member, None).post(
        "/api/v1/keys", {"name": "sneaky", "team": slug}, format="json"
    )
    assert response.status_code == 400
    error = error_of(response)
    assert f"not a member of “{slug}” (your teams: design)" in error["message"]
    assert list(error["details"]) == ["team"]
    assert not member.api_keys.filter(name="sneaky").exists()


def test_a_key_with_an_unknown_model_in_its_policy_is_refused(member):
    response = bound_client(member, None).post(
        "/api/v1/keys", {"name": "x", "allowed_models": ["dall-e-3"]}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["details"] == {"allowed_models": ["Unknown models: dall-e-3."]}


def test_a_bound_key_charges_its_team_without_naming_it(member, design, local_account):
    response = bound_client(member, design).post("/api/v1/generations", BODY, format="json")
    assert response.status_code == 201, response.json()
    generation = Generation.objects.get(id=response.json()["id"])
    assert generation.wallet == team_wallet_for(design)
    hold = CreditEntry.objects.get(generation=generation)
    assert (hold.account_id, hold.kind, hold.held_change) == (generation.wallet_id, "hold", PRICE)
    assert team_available(design) == TEAM_CREDITS - PRICE
    assert own_available(member) == OWN_CREDITS


def test_a_bound_key_naming_its_own_team_is_accepted(member, design, local_account):
    response = bound_client(member, design).post(
        "/api/v1/generations", {**BODY, "team": "design"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert team_available(design) == TEAM_CREDITS - PRICE


def test_a_bound_key_sending_another_team_is_400_naming_the_bound_one(
    member, design, local_account
):
    ops = TeamFactory(name="Ops", slug="ops", credits=TEAM_CREDITS)
    MembershipFactory(team=ops, user=member)
    response = bound_client(member, design).post(
        "/api/v1/generations", {**BODY, "team": "ops"}, format="json"
    )
    assert response.status_code == 400
    message = error_of(response)["message"]
    assert "bound to team Design" in message
    assert "“design”" in message
    assert not Generation.objects.exists()
    assert (team_available(design), team_available(ops)) == (TEAM_CREDITS, TEAM_CREDITS)


def test_a_bound_key_of_a_member_removed_from_the_team_is_403(member, design, local_account):
    client = bound_client(member, design)
    team_member_remove(team=design, user=member, actor=None)
    response = client.post("/api/v1/generations", BODY, format="json")
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "permission_denied"
    assert "bound to team Design, which you are no longer a member of" in error["message"]
    assert not Generation.objects.exists()
    assert team_available(design) == TEAM_CREDITS


# --- A key's own budget, policy and running limit --------------------------------------------


def test_a_key_budget_refuses_with_402_naming_the_key(member, design, local_account):
    issued = api_key_create(user=member, name="ci", team=design)
    api_key_budget_set(api_key=issued.api_key, actor=member, limit=40, period="day")
    client = bearer(issued.key)
    assert client.post("/api/v1/generations", BODY, format="json").status_code == 201
    refused = client.post("/api/v1/generations", BODY, format="json")
    assert refused.status_code == 402
    error = error_of(refused)
    assert error["code"] == "budget_exceeded"
    assert error["message"] == (
        f"API key “ci”, daily budget: 10 of 40 credits left until {resets('day')}. "
        "Raise the key's budget on the keys page, or wait for it to reset."
    )
    assert (error["details"]["budget"], error["details"]["left"]) == ("key", 10)
    assert Generation.objects.count() == 1
    assert team_available(design) == TEAM_CREDITS - PRICE


def test_a_key_policy_refuses_a_model_it_does_not_allow(member, design, local_account):
    client = bound_client(member, design, allowed_models=("seedream-4.0",))
    response = client.post(
        "/api/v1/generations", {**BODY, "model": "seedream-4.5", "size": "2K"}, format="json"
    )
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "policy_refused"
    assert "API key “ci”'s policy does not allow Seedream 4.5" in error["message"]
    assert not Generation.objects.exists()


def test_a_key_policy_set_later_applies_to_its_next_request(member, local_account):
    issued = api_key_create(user=member, name="ci")
    api_key_policy_set(api_key=issued.api_key, actor=member, max_images_per_request=2)
    response = bearer(issued.key).post(
        "/api/v1/generations", {**BODY, "num_images": 3}, format="json"
    )
    assert response.status_code == 403
    assert "at most 2 images per request" in error_of(response)["message"]


def test_native_models_list_only_what_the_key_allows(member, local_account):
    client = bound_client(member, None, allowed_models=("seedream-4.0", "seedream-4.5"))
    ids = [model["id"] for model in client.get("/api/v1/models").json()]
    assert sorted(ids) == ["seedream-4.0", "seedream-4.5"]


def test_a_key_running_limit_answers_429_with_retry_after(member, local_account):
    client = bound_client(member, None, max_running=1)
    first = client.post("/api/v1/generations", BODY, format="json")
    assert first.status_code == 201  # queued: no worker runs in this test
    second = client.post("/api/v1/generations", BODY, format="json")
    assert second.status_code == 429
    assert second["Retry-After"] == str(settings.RUNNING_LIMIT_RETRY_AFTER_S)
    error = error_of(second)
    assert error["code"] == "too_many_running"
    assert error["message"].startswith(
        "1 generations made with API key “ci” are running; its limit is 1."
    )
    assert (error["details"]["scope"], error["details"]["limit"]) == ("key", 1)
    assert Generation.objects.count() == 1
    assert own_available(member) == OWN_CREDITS - PRICE


# --- The OpenAI-compatible endpoint ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_openai_endpoint_charges_the_bound_keys_team(local_account):
    member = funded_user(OWN_CREDITS)
    design = TeamFactory(name="Design", slug="design", credits=TEAM_CREDITS)
    MembershipFactory(team=design, user=member)
    issued = api_key_create(user=member, name="ci", team=design)
    result = sdk_client(issued.key).images.generate(
        model="seedream-4.0", prompt="a lighthouse", size="1K"
    )
    assert len(result.data) == 1
    generation = Generation.objects.get()
    assert generation.wallet == team_wallet_for(design)
    assert generation.status == Generation.Status.SUCCEEDED
    assert team_available(design) == TEAM_CREDITS - PRICE
    assert own_available(member) == OWN_CREDITS


@pytest.mark.django_db(transaction=True)
def test_openai_models_list_only_what_the_key_allows(local_account):
    issued = api_key_create(
        user=funded_user(0), name="ci", policy=KeyPolicy(allowed_models=("seedream-4.0",))
    )
    assert [model.id for model in sdk_client(issued.key).models.list()] == ["seedream-4.0"]


@pytest.mark.django_db(transaction=True)
def test_openai_endpoint_refuses_a_model_the_key_policy_does_not_allow(local_account):
    issued = api_key_create(
        user=funded_user(OWN_CREDITS), name="ci", policy=KeyPolicy(allowed_models=("seedream-4.0",))
    )
    with pytest.raises(openai.PermissionDeniedError) as raised:
        sdk_client(issued.key).images.generate(model="seedream-4.5", prompt="p", size="2K")
    assert raised.value.body["code"] == "policy_refused"
    assert "API key “ci”'s policy does not allow Seedream 4.5" in raised.value.body["message"]


@pytest.mark.django_db(transaction=True)
def test_openai_endpoint_running_limit_answers_429_in_openais_envelope(local_account):
    member = funded_user(OWN_CREDITS)
    issued = api_key_create(user=member, name="ci", policy=KeyPolicy(max_running=1))
    GenerationFactory(owner=member, api_key=issued.api_key, status=Generation.Status.QUEUED)
    with pytest.raises(openai.RateLimitError) as raised:
        sdk_client(issued.key).images.generate(model="seedream-4.0", prompt="p", size="1K")
    assert raised.value.status_code == 429
    assert raised.value.response.headers["Retry-After"] == str(settings.RUNNING_LIMIT_RETRY_AFTER_S)
    body = raised.value.body
    assert (body["type"], body["code"]) == ("rate_limit_exceeded", "too_many_running")
    assert body["message"].startswith("1 generations made with API key “ci” are running")
    assert Generation.objects.count() == 1


# --- Team-level limits through the native API ------------------------------------------------


def test_naming_a_team_charges_its_wallet(member, design, local_account):
    response = bound_client(member, None).post(
        "/api/v1/generations", {**BODY, "team": "design"}, format="json"
    )
    assert response.status_code == 201, response.json()
    # Private, but the team it would be shared with is the one that pays.
    assert (response.json()["team"], response.json()["shared_team"]) == ("design", "design")
    generation = Generation.objects.get(id=response.json()["id"])
    wallet = team_wallet_for(design)
    assert generation.wallet == wallet
    retrieved = bound_client(member, None).get(f"/api/v1/generations/{generation.id}").json()
    assert retrieved["team"] == "design"
    [entry] = CreditEntry.objects.filter(generation=generation)
    assert (entry.account, entry.kind, entry.amount, entry.held_change) == (
        wallet,
        "hold",
        -PRICE,
        PRICE,
    )
    assert team_available(design) == TEAM_CREDITS - PRICE
    assert own_available(member) == OWN_CREDITS
    assert not CreditEntry.objects.filter(account=credit_account_for(member), kind="hold").exists()


@pytest.mark.parametrize("slug", ["ops", "nowhere"])
def test_naming_a_team_one_is_not_in_is_400_naming_ones_teams(member, design, slug):
    TeamFactory(name="Ops", slug="ops", credits=TEAM_CREDITS)
    response = bound_client(member, None).post(
        "/api/v1/generations", {**BODY, "team": slug}, format="json"
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "team_not_found"
    assert f"not a member of a team “{slug}” (your teams: design)" in error["message"]
    assert not Generation.objects.exists()


def test_a_team_budget_refuses_with_402_in_the_exact_words(member, design, local_account):
    budget_set(scope=Budget.Scope.TEAM, team=design, limit=50_000, period="month", actor=None)
    client = bound_client(member, None)
    with frozen(2026, 12, 15):
        # 49,880 of the 50,000 spent by one large request, 120 left.
        ModelPrice.objects.filter(model="seedream-4.0").update(credits_per_image=49_880)
        assert (
            client.post(
                "/api/v1/generations", {**BODY, "team": "design"}, format="json"
            ).status_code
            == 201
        )
        ModelPrice.objects.filter(model="seedream-4.0").update(credits_per_image=PRICE)
        refused = client.post(
            "/api/v1/generations", {**BODY, "team": "design", "num_images": 5}, format="json"
        )
    assert refused.status_code == 402
    assert error_of(refused)["message"] == (
        "Team Design, monthly budget: 120 of 50,000 credits left until 1 January. "
        "Ask a team manager."
    )
    assert error_of(refused)["details"]["resets_on"] == "2027-01-01"
    assert team_available(design) == TEAM_CREDITS - 49_880


def test_a_member_budget_refuses_with_402_naming_the_member(member, design, local_account):
    budget_set(
        scope=Budget.Scope.MEMBER, team=design, user=member, limit=50, period="week", actor=None
    )
    client = bound_client(member, None)
    assert (
        client.post("/api/v1/generations", {**BODY, "team": "design"}, format="json").status_code
        == 201
    )
    refused = client.post("/api/v1/generations", {**BODY, "team": "design"}, format="json")
    assert refused.status_code == 402
    assert error_of(refused)["message"] == (
        f"ana's weekly budget in team Design: 20 of 50 credits left until {resets('week')}. "
        "Ask a team manager."
    )
    # The member's own wallet has no such budget.
    assert client.post("/api/v1/generations", BODY, format="json").status_code == 201


def test_a_personal_budget_refuses_with_402_and_says_to_ask_staff(member, design, local_account):
    budget_set(scope=Budget.Scope.USER, user=member, limit=45, period="month", actor=None)
    client = bound_client(member, None)
    assert client.post("/api/v1/generations", BODY, format="json").status_code == 201
    refused = client.post("/api/v1/generations", BODY, format="json")
    assert refused.status_code == 402
    assert error_of(refused)["message"] == (
        f"ana's personal monthly budget: 15 of 45 credits left until {resets('month')}. Ask staff."
    )
    # Charging the team is not personal spending.
    assert (
        client.post("/api/v1/generations", {**BODY, "team": "design"}, format="json").status_code
        == 201
    )


def test_a_team_policy_refusal_names_the_teams_policy(member, design, local_account):
    Team.objects.filter(pk=design.pk).update(allowed_models=["seedream-4.0"], max_size_tier="2K")
    client = bound_client(member, None)
    model = client.post(
        "/api/v1/generations",
        {**BODY, "model": "seedream-4.5", "size": "2K", "team": "design"},
        format="json",
    )
    assert model.status_code == 403
    assert error_of(model)["code"] == "policy_refused"
    assert error_of(model)["message"] == (
        "model: Team Design's policy does not allow Seedream 4.5; allowed: Seedream 4.0."
    )
    size = client.post(
        "/api/v1/generations", {**BODY, "size": "4K", "team": "design"}, format="json"
    )
    assert size.status_code == 403
    assert error_of(size)["message"] == (
        "size: Team Design's policy allows images up to 2K; this request is 4K. "
        "Choose a smaller size."
    )
    ids = [entry["id"] for entry in client.get("/api/v1/models?team=design").json()]
    assert ids == ["seedream-4.0"]
    assert not Generation.objects.exists()


def test_a_team_running_limit_answers_429(member, design, local_account):
    Team.objects.filter(pk=design.pk).update(max_running=1)
    teammate = funded_user(0)
    MembershipFactory(team=design, user=teammate)
    first = bound_client(teammate, None, name="theirs").post(
        "/api/v1/generations", {**BODY, "team": "design"}, format="json"
    )
    assert first.status_code == 201
    second = bound_client(member, None).post(
        "/api/v1/generations", {**BODY, "team": "design"}, format="json"
    )
    assert second.status_code == 429
    assert second["Retry-After"] == str(settings.RUNNING_LIMIT_RETRY_AFTER_S)
    error = error_of(second)
    assert error["code"] == "too_many_running"
    assert error["message"].startswith(
        "1 of team Design's generations are running; the team's limit is 1."
    )
    # Charging one's own wallet is not the team's running.
    assert (
        bound_client(member, None, name="own")
        .post("/api/v1/generations", BODY, format="json")
        .status_code
        == 201
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_running", 17_542_649_941), ("max_running", 0), ("max_images_per_request", 16)],
)
def test_key_limits_out_of_range_are_400_not_a_server_error(member, field, value):
    response = bound_client(member, None).post(
        "/api/v1/keys", {"name": "ci", field: value}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"
    assert field in error_of(response)["details"]
