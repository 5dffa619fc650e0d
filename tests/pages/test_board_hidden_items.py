"""Adding to a shared board something its audience will not see: the owner is told so, and
offered the one change that would show it, rather than a plain "added"."""

import pytest
from django.urls import reverse

from generations.models import Board, BoardItem, Generation
from tests.factories import BoardFactory, MembershipFactory, TeamFactory
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db

WARNING = "This image is private: teammates will not see it on the board."


def add(client, generation: Generation, board: Board, **extra):
    return client.post(
        reverse("board-item-add", args=[generation.id]), {"board": board.pk, **extra}
    )


def test_a_private_image_on_a_shared_board_is_explained_and_can_be_shared_in_one_click(
    client, user
):
    generation = make_generation(user)
    board = BoardFactory(owner=user, name="Moodboard", visibility=Board.Visibility.TEAM)
    client.force_login(user)
    back = reverse("boards")
    response = add(client, generation, board, next=back)
    assert response.status_code == 200
    body = response.content.decode()
    assert WARNING in body
    assert "Make it visible to the team?" in body
    assert "added to" not in body.lower()
    assert BoardItem.objects.filter(board=board, generation=generation).exists()
    assert reverse("generation-visibility", args=[generation.id]) in body
    assert 'name="visibility" value="team"' in body
    # The one click goes through the visibility form and back where the user was.
    shared = client.post(
        reverse("generation-visibility", args=[generation.id]),
        {"visibility": "team", "next": back},
    )
    assert shared.status_code == 302
    assert shared.url == back
    generation.refresh_from_db()
    assert generation.visibility == Generation.Visibility.TEAM


def test_a_private_board_or_a_shared_image_is_simply_added(client, user):
    private_board = BoardFactory(owner=user, name="Mine")
    shared_board = BoardFactory(owner=user, name="Ours", visibility=Board.Visibility.TEAM)
    client.force_login(user)
    response = add(client, make_generation(user), private_board)
    assert response.status_code == 302
    response = add(client, make_generation(user, visibility="team"), shared_board)
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages[-1] == "Generation added to “Ours”."


def test_an_image_shared_with_another_team_is_explained_without_the_offer(client, user):
    design, sales = TeamFactory(slug="design"), TeamFactory(slug="sales")
    MembershipFactory(team=design, user=user)
    MembershipFactory(team=sales, user=user)
    generation = make_generation(user, visibility="team")
    Generation.objects.filter(pk=generation.pk).update(shared_team=design)
    board = BoardFactory(owner=user, name="Sales picks", visibility="team", team=sales)
    client.force_login(user)
    body = add(client, generation, board).content.decode()
    assert "shared with team" in body
    assert 'name="visibility" value="team"' not in body


def test_staff_adding_someone_elses_private_image_is_offered_the_change_too(
    client, user, staff_user
):
    generation = make_generation(user)
    board = BoardFactory(owner=staff_user, name="Picks", visibility="team")
    client.force_login(staff_user)
    body = add(client, generation, board).content.decode()
    assert WARNING in body
