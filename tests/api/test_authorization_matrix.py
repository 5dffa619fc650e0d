"""Who may do what to a generation, through every native endpoint (DESIGN §8.4).

Every generation endpoint x (anonymous, another teammate, the owner, staff) x (private,
team-visible). Another's private generation reads as missing (404, so its existence does not
leak); a shared one can be read but not changed (403); staff read and change everything. Lists
never show another's private generation, whatever the filters.
"""

from collections.abc import Callable

import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient

from accounts.models import CreditAccount, User
from generations.models import Generation
from tests.api.conftest import key_client, streamed
from tests.api.test_uploads_api import upload_file
from tests.conftest import funded_user, make_png

pytestmark = pytest.mark.django_db

ACTORS = ("anonymous", "other", "owner", "staff")
VISIBILITIES = (Generation.Visibility.PRIVATE, Generation.Visibility.TEAM)


@pytest.fixture
def owner(user) -> User:
    return user


@pytest.fixture
def clients(owner, other_user) -> dict[str, APIClient]:
    staff = funded_user(0, is_staff=True)
    return {
        "anonymous": APIClient(),
        "other": key_client(other_user),
        "owner": key_client(owner),
        "staff": key_client(staff),
    }


def _retrieve(client: APIClient, generation: Generation) -> Response:
    return client.get(f"/api/v1/generations/{generation.id}")


def _events(client: APIClient, generation: Generation) -> Response:
    return client.get(f"/api/v1/generations/{generation.id}/events")


def _cancel(client: APIClient, generation: Generation) -> Response:
    return client.post(f"/api/v1/generations/{generation.id}/cancel")


def _delete(client: APIClient, generation: Generation) -> Response:
    return client.delete(f"/api/v1/generations/{generation.id}")


# endpoint -> (call, whether the generation must still be running for the call to make sense)
ENDPOINTS: dict[str, tuple[Callable[[APIClient, Generation], Response], bool]] = {
    "retrieve": (_retrieve, False),
    "events": (_events, False),
    "cancel": (_cancel, True),
    "delete": (_delete, False),
}
OK = {"retrieve": 200, "events": 200, "cancel": 200, "delete": 204}


def expected_status(endpoint: str, actor: str, visibility: str) -> int:
    if actor == "anonymous":
        return 401
    if actor in ("owner", "staff"):
        return OK[endpoint]
    if visibility == Generation.Visibility.PRIVATE:
        return 404
    return OK[endpoint] if endpoint in ("retrieve", "events") else 403


@pytest.mark.parametrize("visibility", VISIBILITIES)
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_generation_endpoint_matrix(endpoint, actor, visibility, owner, clients, make_generation):
    call, needs_running = ENDPOINTS[endpoint]
    generation = make_generation(
        owner, finished=not needs_running, visibility=visibility, prompt="owl at night"
    )
    balance_before = CreditAccount.objects.values_list("available", "held").get(user=owner)

    response = call(clients[actor], generation)

    expected = expected_status(endpoint, actor, visibility)
    assert response.status_code == expected, getattr(response, "data", response)
    if expected >= 400:
        assert set(response.json()["error"]) == {"code", "message", "details"}
        # A refused call changes nothing.
        before_status = generation.status
        generation.refresh_from_db()
        assert (generation.status, generation.deleted_at) == (before_status, None)
        assert (
            CreditAccount.objects.values_list("available", "held").get(user=owner) == balance_before
        )
        # Nothing of the generation shows in the refusal.
        assert "owl" not in response.content.decode()
    elif endpoint == "retrieve":
        assert response.json()["id"] == str(generation.id)
    elif endpoint == "events":
        assert str(generation.id) in streamed(response).decode()


@pytest.mark.parametrize("visibility", VISIBILITIES)
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    "query",
    [
        "",
        "scope=mine",
        "scope=team",
        "scope=team&q=owl",
        "scope=team&status=succeeded",
        "scope=team&model=seedream-4.0",
        "scope=team&created_after=2000-01-01",
        "scope=mine&q=owl&status=succeeded",
    ],
)
def test_lists_show_a_generation_only_to_those_who_may_see_it(
    query, actor, visibility, owner, clients, make_generation
):
    generation = make_generation(owner, visibility=visibility, prompt="owl at night")
    response = clients[actor].get(f"/api/v1/generations?{query}")
    if actor == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == 200
    listed = {row["id"] for row in response.json()["results"]}
    # Team scope: everyone's shared generations, the owner's own included; private ones never,
    # not even for staff (staff read private ones one at a time). Mine: the owner's only.
    should_show = (
        visibility == Generation.Visibility.TEAM if "scope=team" in query else actor == "owner"
    )
    assert (str(generation.id) in listed) is should_show


def test_deleted_generations_vanish_for_everyone(owner, clients, make_generation):
    generation = make_generation(owner, visibility=Generation.Visibility.TEAM)
    assert _delete(clients["owner"], generation).status_code == 204
    for actor in ("other", "owner", "staff"):
        assert _retrieve(clients[actor], generation).status_code == 404
        assert _events(clients[actor], generation).status_code == 404
        assert _cancel(clients[actor], generation).status_code == 404
        team = clients[actor].get("/api/v1/generations?scope=team").json()["results"]
        assert str(generation.id) not in {row["id"] for row in team}


ANONYMOUS_CALLS = [
    ("get", "/api/v1/me"),
    ("get", "/api/v1/generations"),
    ("post", "/api/v1/generations"),
    ("post", "/api/v1/uploads"),
    ("get", "/api/v1/models"),
    ("get", "/api/v1/me/usage"),
    ("get", "/api/v1/keys"),
    ("post", "/api/v1/keys"),
    ("delete", "/api/v1/keys/1"),
]


@pytest.mark.parametrize(("method", "path"), ANONYMOUS_CALLS)
def test_every_endpoint_needs_credentials(method, path):
    response = getattr(APIClient(), method)(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_an_upload_is_usable_only_by_its_owner(owner, other_user, clients, local_account):
    upload_id = (
        clients["owner"].post("/api/v1/uploads", {"file": upload_file(make_png())}).json()["id"]
    )
    body = {
        "model": "seedream-4.0",
        "prompt": "owl",
        "size": "1K",
        "references": [{"upload_id": upload_id}],
    }
    for actor in ("other", "staff"):
        refused = clients[actor].post("/api/v1/generations", body, format="json")
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "invalid_reference"
    assert clients["owner"].post("/api/v1/generations", body, format="json").status_code == 201
