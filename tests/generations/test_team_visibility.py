""" "Visible to the team" means visible to a chosen team: a generation shared with team T is seen
by T's members (and its owner, and staff), by nobody else, on every path — the gallery, the
native API's list and retrieve, the detail page, the image files, boards. Shared with no team,
it stays visible to everyone here. Leaving a team ends the access at once."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.models import Team, User
from accounts.services.teams import team_member_remove
from generations.models import Generation
from generations.selectors.boards import board_list_visible
from generations.services.boards import BoardError, board_create, board_item_add, board_update
from tests.api.conftest import key_client
from tests.conftest import funded_user
from tests.factories import BoardItemFactory, MembershipFactory, TeamFactory
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db


def shared_generation(owner: User, team: Team | None, prompt: str) -> Generation:
    generation = make_generation(owner, prompt=prompt, visibility="team", images=1)
    Generation.objects.filter(pk=generation.pk).update(shared_team=team)
    generation.refresh_from_db()
    return generation


@pytest.fixture
def people(db):
    """The author and a member of team Design, an outsider, and Design's shared generation next
    to one shared with everyone here."""
    author, member, outsider = funded_user(1000), funded_user(1000), funded_user(1000)
    design = TeamFactory(name="Design", slug="design")
    MembershipFactory(team=design, user=author, role="owner")
    MembershipFactory(team=design, user=member)
    other_team = TeamFactory(name="Sales", slug="sales")
    MembershipFactory(team=other_team, user=outsider, role="owner")
    return {
        "author": author,
        "member": member,
        "outsider": outsider,
        "design": design,
        "for_design": shared_generation(author, design, "design only moodboard"),
        "for_everyone": shared_generation(author, None, "everyone sees this"),
    }


def page_ok(client, user: User, url: str) -> int:
    client.force_login(user)
    return client.get(url).status_code


# --- Pages --------------------------------------------------------------------------------


@pytest.mark.parametrize(("viewer", "expected"), [("member", 200), ("outsider", 404)])
def test_detail_page(client, people, viewer, expected):
    url = reverse("generation-detail", args=[people["for_design"].id])
    assert page_ok(client, people[viewer], url) == expected


@pytest.mark.parametrize(("viewer", "expected"), [("member", 200), ("outsider", 404)])
def test_image_files_and_zip(client, people, viewer, expected):
    output = people["for_design"].outputs.get()
    client.force_login(people[viewer])
    assert client.get(reverse("output-file", args=[output.pk])).status_code == expected
    assert client.get(reverse("output-thumbnail", args=[output.pk])).status_code == expected
    zip_url = reverse("generation-zip", args=[people["for_design"].id])
    assert client.get(zip_url).status_code == expected


def test_an_outsider_cannot_carry_a_team_image_into_the_compose_form(client, people):
    output = people["for_design"].outputs.get()
    client.force_login(people["outsider"])
    response = client.get(reverse("workspace"), {"reference_output": output.pk})
    assert response.context["form"].carried == []
    client.force_login(people["member"])
    response = client.get(reverse("workspace"), {"reference_output": output.pk})
    assert len(response.context["form"].carried) == 1


def test_shared_with_no_team_is_visible_to_everyone(client, people):
    url = reverse("generation-detail", args=[people["for_everyone"].id])
    for viewer in ("member", "outsider"):
        assert page_ok(client, people[viewer], url) == 200
    stranger = funded_user(0)  # in no team at all
    assert page_ok(client, stranger, url) == 200


def test_the_owner_and_staff_keep_seeing_it(client, people):
    url = reverse("generation-detail", args=[people["for_design"].id])
    assert page_ok(client, people["author"], url) == 200
    assert page_ok(client, funded_user(0, is_staff=True), url) == 200


def test_leaving_the_team_ends_the_access(client, people):
    generation = people["for_design"]
    member = people["member"]
    output = generation.outputs.get()
    detail = reverse("generation-detail", args=[generation.id])
    assert page_ok(client, member, detail) == 200
    team_member_remove(team=people["design"], user=member, actor=None)
    assert page_ok(client, member, detail) == 404
    assert client.get(reverse("output-file", args=[output.pk])).status_code == 404
    api = key_client(member)
    assert api.get(reverse("api-generation", args=[generation.id])).status_code == 404
    listed = api.get(reverse("api-generations"), {"scope": "team"}).json()["results"]
    assert [row["id"] for row in listed] == [str(people["for_everyone"].id)]


# --- The gallery ----------------------------------------------------------------------------


def gallery_ids(client, user: User, query: dict) -> list[str]:
    client.force_login(user)
    response = client.get(reverse("gallery"), query)
    assert response.status_code == 200
    return [str(generation.id) for generation in response.context["page"].object_list]


def test_the_gallery_has_a_tab_per_team_and_one_for_everyone(client, people):
    client.force_login(people["member"])
    body = client.get(reverse("gallery")).content.decode()
    assert 'href="?tab=mine"' in body
    assert 'href="?tab=team&amp;team=design" class="tab">Team Design</a>' in body
    assert 'href="?tab=team" class="tab">Everyone</a>' in body
    assert "team=sales" not in body


def test_a_team_tab_shows_what_was_shared_with_that_team(client, people):
    ids = gallery_ids(client, people["member"], {"tab": "team", "team": "design"})
    assert ids == [str(people["for_design"].id)]
    everyone = gallery_ids(client, people["member"], {"tab": "team"})
    assert everyone == [str(people["for_everyone"].id)]


def test_an_outsider_has_no_tab_for_a_team_they_are_not_in(client, people):
    client.force_login(people["outsider"])
    assert client.get(reverse("gallery"), {"tab": "team", "team": "design"}).status_code == 404
    assert gallery_ids(client, people["outsider"], {"tab": "team"}) == [
        str(people["for_everyone"].id)
    ]
    assert gallery_ids(client, people["outsider"], {"tab": "team", "team": "sales"}) == []


def test_a_team_tab_lists_its_authors_only(client, people):
    outsider = people["outsider"]
    shared_generation(outsider, Team.objects.get(slug="sales"), "sales deck")
    client.force_login(people["member"])
    response = client.get(reverse("gallery"), {"tab": "team", "team": "design"})
    authors = [label for value, label in response.context["form"].fields["author"].choices]
    assert authors == ["Anyone", people["author"].get_username()]


# --- The native API -------------------------------------------------------------------------


def api_team_ids(user: User) -> set[str]:
    response = key_client(user).get(reverse("api-generations"), {"scope": "team"})
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


def test_the_api_team_list_follows_the_teams(people):
    for_design, for_everyone = str(people["for_design"].id), str(people["for_everyone"].id)
    assert api_team_ids(people["member"]) == {for_design, for_everyone}
    assert api_team_ids(people["outsider"]) == {for_everyone}
    # Staff see no more in a list than anyone else.
    assert api_team_ids(funded_user(0, is_staff=True)) == {for_everyone}


@pytest.mark.parametrize(("viewer", "expected"), [("member", 200), ("outsider", 404)])
def test_the_api_retrieve_follows_the_teams(people, viewer, expected):
    url = reverse("api-generation", args=[people["for_design"].id])
    assert key_client(people[viewer]).get(url).status_code == expected


# --- Boards ---------------------------------------------------------------------------------


def test_a_board_shared_with_everyone_never_shows_an_outsider_a_team_generation(client, people):
    board = board_create(owner=people["author"], name="Picks", visibility="team")
    BoardItemFactory(board=board, generation=people["for_design"])
    BoardItemFactory(board=board, generation=people["for_everyone"])
    client.force_login(people["outsider"])
    response = client.get(reverse("board-detail", args=[board.pk]))
    assert response.status_code == 200
    shown = [item.generation_id for item in response.context["items"]]
    assert shown == [people["for_everyone"].id]
    [listed] = board_list_visible(user=people["outsider"])
    assert listed.visible_items == 1
    client.force_login(people["member"])
    response = client.get(reverse("board-detail", args=[board.pk]))
    assert len(response.context["items"]) == 2


def test_a_board_shared_with_a_team_is_for_its_members_only(client, people):
    board = board_create(
        owner=people["author"], name="Design picks", visibility="team", team=people["design"]
    )
    url = reverse("board-detail", args=[board.pk])
    assert page_ok(client, people["outsider"], url) == 404
    assert board not in board_list_visible(user=people["outsider"])
    assert page_ok(client, people["member"], url) == 200
    assert board in board_list_visible(user=people["member"])
    body = client.get(reverse("boards")).content.decode()
    assert "Design picks" in body
    assert "shared with Design" in body
    team_member_remove(team=people["design"], user=people["member"], actor=None)
    assert page_ok(client, people["member"], url) == 404


def test_a_board_cannot_be_shared_with_a_team_its_owner_is_not_in(people):
    sales = Team.objects.get(slug="sales")
    with pytest.raises(BoardError, match="not a member of team Sales"):
        board_create(owner=people["author"], name="x", visibility="team", team=sales)
    board = board_create(owner=people["author"], name="y")
    with pytest.raises(BoardError):
        board_update(board=board, user=people["author"], visibility="team", team=sales)


def test_the_board_forms_share_with_a_team(client, people):
    author = people["author"]
    client.force_login(author)
    body = client.get(reverse("boards")).content.decode()
    assert 'name="share_with"' in body
    assert ">Team Design<" in body
    response = client.post(
        reverse("boards"), {"name": "Shared picks", "shared": "on", "share_with": "design"}
    )
    assert response.status_code == 302
    board = author.boards.get(name="Shared picks")
    assert (board.visibility, board.team) == ("team", people["design"])
    client.post(
        reverse("board-update", args=[board.pk]),
        {"name": "Shared picks", "shared": "on", "share_with": ""},
    )
    board.refresh_from_db()
    assert (board.visibility, board.team) == ("team", None)
    client.post(reverse("board-update", args=[board.pk]), {"name": "Shared picks"})
    board.refresh_from_db()
    assert (board.visibility, board.team) == ("private", None)


def test_an_outsider_cannot_put_a_team_generation_on_a_board(people):
    board = board_create(owner=people["outsider"], name="mine")
    with pytest.raises(PermissionDenied, match="cannot see"):
        board_item_add(board=board, user=people["outsider"], generation=people["for_design"])
