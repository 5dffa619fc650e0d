"""The compose page for someone in teams: which wallet pays ("Charge to", remembered), the
models its policy allows, the price naming the wallet and the tightest budget, who sees a
team-visible generation ("Share with"), and every refusal shown as the form's error."""

import json
import re

import pytest
from django.urls import reverse

from accounts.models import Budget, User
from accounts.services.credits import credit_account_for, team_wallet_for
from accounts.services.teams import team_member_remove
from generations.models import Generation
from tests.conftest import funded_user
from tests.factories import BudgetFactory, MembershipFactory, TeamFactory
from tests.pages.conftest import make_generation
from tests.pages.test_compose import compose_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def design(user):
    team = TeamFactory(name="Design", slug="design", credits=5000)
    MembershipFactory(team=team, user=user)
    return team


@pytest.fixture
def print_team(user):
    """A team whose policy allows one model, up to 2K."""
    team = TeamFactory(
        name="Print",
        slug="print",
        credits=800,
        allowed_models=["seedream-4.0"],
        max_size_tier="2K",
    )
    MembershipFactory(team=team, user=user)
    return team


def submit(client, django_capture_on_commit_callbacks, **fields):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("workspace"), compose_data(**fields))


def options_of(body: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', body, re.S)
    assert select is not None, name
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def selected_of(body: str, name: str) -> str:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', body, re.S)
    assert select is not None, name
    chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(1))
    return chosen.group(1) if chosen else ""


def test_without_teams_there_is_no_charge_to_choice(client, user):
    client.force_login(user)
    body = client.get(reverse("workspace")).content.decode()
    assert 'name="charge_to"' not in body
    assert 'name="share_with"' not in body
    assert 'id="wallet-catalogs"' not in body


def test_the_choice_names_each_wallet_with_its_balance(client, user, design, print_team):
    client.force_login(user)
    body = client.get(reverse("workspace")).content.decode()
    assert options_of(body, "charge_to") == ["", "design", "print"]
    assert "My wallet (100,000 credits)" in body
    assert "Team Design (5,000 credits)" in body
    assert "Team Print (800 credits)" in body
    assert selected_of(body, "charge_to") == ""


def test_a_submit_charges_the_chosen_team_and_the_choice_is_remembered(
    client, user, design, local_account, django_capture_on_commit_callbacks
):
    client.force_login(user)
    response = submit(client, django_capture_on_commit_callbacks, charge_to="design")
    assert response.status_code == 302
    generation = Generation.objects.get()
    assert generation.wallet == team_wallet_for(design)
    assert generation.credits_charged == 30
    assert team_wallet_for(design).available == 5000 - 30
    assert credit_account_for(user).available == 100_000
    user.refresh_from_db()
    assert user.charge_to == design
    body = client.get(reverse("workspace")).content.decode()
    assert selected_of(body, "charge_to") == "design"
    assert selected_of(body, "share_with") == "design"


def test_a_team_left_falls_back_to_the_own_wallet(client, user, other_user, design, print_team):
    User.objects.filter(pk=user.pk).update(charge_to=design)
    MembershipFactory(team=design, user=other_user, role="owner")
    team_member_remove(team=design, user=user, actor=None)
    client.force_login(user)
    body = client.get(reverse("workspace")).content.decode()
    assert options_of(body, "charge_to") == ["", "print"]
    assert selected_of(body, "charge_to") == ""


def test_charging_a_team_one_has_left_is_refused_and_nothing_is_made(
    client, user, other_user, design, print_team, local_account
):
    MembershipFactory(team=design, user=other_user, role="owner")
    team_member_remove(team=design, user=user, actor=None)
    client.force_login(user)
    response = client.post(reverse("workspace"), compose_data(charge_to="design"))
    assert response.status_code == 400
    assert response.context["form"].errors["charge_to"] == [
        "You are not a member of a team “design” (any more): choose another wallet."
    ]
    assert not Generation.objects.exists()


def test_the_models_listed_are_those_the_remembered_wallets_policy_allows(client, user, print_team):
    User.objects.filter(pk=user.pk).update(charge_to=print_team)
    client.force_login(user)
    response = client.get(reverse("workspace"))
    body = response.content.decode()
    assert options_of(body, "model") == ["seedream-4.0"]
    assert [model["id"] for model in response.context["catalog"]] == ["seedream-4.0"]
    # Each wallet's catalog is on the page, so changing "Charge to" narrows the list at once.
    catalogs = json.loads(re.search(r'id="wallet-catalogs"[^>]*>(.*?)</script>', body).group(1))
    assert [model["id"] for model in catalogs["print"]] == ["seedream-4.0"]
    assert len(catalogs[""]) > 1
    print_tiers = catalogs["print"][0]["size_tiers"]
    assert "4K" not in print_tiers
    assert "2K" in print_tiers


def test_a_model_the_team_does_not_allow_is_refused_naming_its_policy(
    client, user, print_team, local_account
):
    client.force_login(user)
    response = client.post(
        reverse("workspace"), compose_data(charge_to="print", model="seedream-4.5", size="2K")
    )
    assert response.status_code == 400
    errors = response.context["form"].errors["model"]
    assert "Team Print's policy does not allow Seedream 4.5" in errors[0]
    assert not Generation.objects.exists()


def test_a_budget_refusal_is_the_forms_error(client, user, design, local_account):
    BudgetFactory(team=design, limit=20, period="month")
    client.force_login(user)
    response = client.post(reverse("workspace"), compose_data(charge_to="design"))
    assert response.status_code == 400
    [message] = response.context["form"].non_field_errors()
    assert message.startswith("Team Design, monthly budget: 20 of 20 credits left until 1 ")
    assert "Ask a team manager." in message
    assert message in response.content.decode()
    assert not Generation.objects.exists()


def test_the_running_limit_is_the_forms_error(client, local_account):
    limited = funded_user(1000, max_running=3)
    for _ in range(3):
        make_generation(limited, status=Generation.Status.RUNNING)
    client.force_login(limited)
    response = client.post(reverse("workspace"), compose_data())
    assert response.status_code == 400
    expected = "3 of your generations are running; the limit is 3. Wait for one to finish."
    assert response.context["form"].non_field_errors() == [expected]
    assert expected in response.content.decode()
    assert Generation.objects.filter(owner=limited).count() == 3


def test_the_price_names_the_team_wallet_and_its_tightest_budget(
    client, user, design, default_prices
):
    BudgetFactory(team=design, limit=3000, period="month")
    BudgetFactory(scope=Budget.Scope.MEMBER, team=design, user=user, limit=400, period="week")
    client.force_login(user)
    body = client.get(
        reverse("compose-quote"), compose_data(charge_to="design", num_images=2)
    ).content.decode()
    assert "Team Design pays: balance 5,000 → 4,940 after this" in body
    assert f"{user}&#x27;s weekly budget in team Design: 400 of 400 credits left until" in body
    assert "Team Design, monthly budget" not in body  # only the tightest


def test_the_price_says_when_the_budget_is_short(client, user, design, default_prices):
    BudgetFactory(team=design, limit=50, period="day")
    client.force_login(user)
    body = client.get(
        reverse("compose-quote"), compose_data(charge_to="design", num_images=2)
    ).content.decode()
    assert "Team Design, daily budget: 50 of 50 credits left" in body
    assert "not enough for this request" in body


def test_the_price_names_the_own_wallet_for_someone_in_teams(client, user, design, default_prices):
    client.force_login(user)
    body = client.get(reverse("compose-quote"), compose_data(charge_to="")).content.decode()
    assert "My wallet pays: balance 100,000 → 99,970 after this" in body


def test_the_price_says_which_policy_refuses_the_request(client, user, print_team, default_prices):
    client.force_login(user)
    body = client.get(
        reverse("compose-quote"), compose_data(charge_to="print", model="seedream-4.5", size="2K")
    ).content.decode()
    assert "credits</strong>" not in body
    assert "Team Print&#x27;s policy does not allow Seedream 4.5" in body


def test_share_with_defaults_to_the_charged_team(
    client, user, design, local_account, django_capture_on_commit_callbacks
):
    client.force_login(user)
    submit(
        client,
        django_capture_on_commit_callbacks,
        charge_to="design",
        share_with="design",
        visibility="team",
    )
    assert Generation.objects.get().shared_team == design


def test_share_with_another_team_or_everyone(
    client, user, design, print_team, local_account, django_capture_on_commit_callbacks
):
    client.force_login(user)
    submit(
        client,
        django_capture_on_commit_callbacks,
        charge_to="design",
        share_with="print",
        visibility="team",
        idempotency_key="a",
    )
    submit(
        client,
        django_capture_on_commit_callbacks,
        charge_to="design",
        share_with="",
        visibility="team",
        idempotency_key="b",
    )
    shared = Generation.objects.order_by("created_at")
    assert [generation.shared_team for generation in shared] == [print_team, None]
    assert all(generation.wallet == team_wallet_for(design) for generation in shared)


def test_share_with_lists_the_users_teams_and_everyone(client, user, design, print_team):
    client.force_login(user)
    body = client.get(reverse("workspace")).content.decode()
    assert options_of(body, "share_with") == ["", "design", "print"]
    assert ">Everyone here<" in body
