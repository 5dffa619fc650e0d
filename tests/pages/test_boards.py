"""Boards: make them, put generations or single images on them, share them; a shared board
never shows a teammate anything they could not see anyway."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from generations.models import Board, BoardItem, Generation
from generations.services.boards import BoardError, board_create, board_item_add
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db


def test_make_a_board_and_open_it(client, user):
    client.force_login(user)
    response = client.post(reverse("boards"), {"name": "  Moodboard   spring ", "shared": "on"})
    board = Board.objects.get()
    assert response.url == reverse("board-detail", args=[board.pk])
    assert board.name == "Moodboard spring"
    assert board.visibility == Board.Visibility.TEAM
    assert "Moodboard spring" in client.get(reverse("boards")).content.decode()


def test_board_names_are_unique_per_owner_whatever_the_case(client, user, other_user):
    board_create(owner=user, name="Foxes")
    with pytest.raises(BoardError):
        board_create(owner=user, name="foxes")
    board_create(owner=other_user, name="Foxes")  # another person's list is theirs
    client.force_login(user)
    response = client.post(reverse("boards"), {"name": "FOXES"})
    assert response.status_code == 400
    assert "already have a board" in response.content.decode()


def test_add_a_generation_and_a_single_image_to_a_new_then_an_existing_board(client, user):
    generation = make_generation(user, images=2)
    second = generation.outputs.order_by("index").last()
    client.force_login(user)
    url = reverse("board-item-add", args=[generation.id])
    client.post(url, {"board": "", "new_board_name": "Picks"})
    board = Board.objects.get(owner=user)
    client.post(url, {"board": board.pk, "output": second.pk})
    client.post(url, {"board": board.pk, "output": second.pk})  # twice is one item
    items = BoardItem.objects.filter(board=board)
    assert sorted((item.output_id or 0) for item in items) == [0, second.pk]

    body = client.get(reverse("board-detail", args=[board.pk])).content.decode()
    assert body.count('class="tile ') == 2
    assert "Remove from board" in body
    detail = client.get(reverse("generation-detail", args=[generation.id])).content.decode()
    assert "all images, image 2" in detail


def test_picking_nothing_is_an_error(client, user):
    generation = make_generation(user)
    client.force_login(user)
    response = client.post(
        reverse("board-item-add", args=[generation.id]), {"board": ""}, follow=True
    )
    assert "Pick a board or name a new one." in response.content.decode()
    assert not Board.objects.exists()


def test_an_image_must_belong_to_the_generation(client, user):
    generation = make_generation(user)
    other = make_generation(user).outputs.first()
    board = board_create(owner=user, name="b")
    client.force_login(user)
    response = client.post(
        reverse("board-item-add", args=[generation.id]), {"board": board.pk, "output": other.pk}
    )
    assert response.status_code == 404
    with pytest.raises(BoardError):
        board_item_add(board=board, user=user, generation=generation, output=other)


def test_nobody_adds_what_they_cannot_see_or_to_a_board_not_theirs(client, user, other_user):
    private = make_generation(other_user)
    mine = make_generation(user)
    their_board = board_create(owner=other_user, name="theirs", visibility="team")
    client.force_login(user)
    assert (
        client.post(
            reverse("board-item-add", args=[private.id]), {"board": "", "new_board_name": "x"}
        ).status_code
        == 404
    )
    refused = client.post(
        reverse("board-item-add", args=[mine.id]), {"board": their_board.pk}, follow=True
    )
    assert "Pick one of your own boards." in refused.content.decode()
    assert not BoardItem.objects.exists()
    with pytest.raises(PermissionDenied):
        board_item_add(board=their_board, user=user, generation=mine)
    own = board_create(owner=user, name="mine")
    with pytest.raises(PermissionDenied):
        board_item_add(board=own, user=user, generation=private)


def test_a_shared_board_shows_teammates_only_what_they_may_see(client, user, other_user):
    board = board_create(owner=user, name="Shared picks", visibility="team")
    shared = make_generation(user, prompt="shared fox", visibility="team")
    private = make_generation(user, prompt="private fox")
    board_item_add(board=board, user=user, generation=shared)
    board_item_add(board=board, user=user, generation=private)

    client.force_login(other_user)
    index = client.get(reverse("boards")).content.decode()
    assert "Shared picks" in index
    assert "1 item" in index
    body = client.get(reverse("board-detail", args=[board.pk])).content.decode()
    assert "shared fox" in body
    assert "private fox" not in body
    assert "Board settings" not in body
    assert "Remove from board" not in body

    # Made private later: gone from the teammate's view of the board too.
    Generation.objects.filter(pk=shared.pk).update(visibility="private")
    assert "shared fox" not in client.get(reverse("board-detail", args=[board.pk])).content.decode()


def test_a_private_board_is_the_owners_alone(client, user, other_user):
    board = board_create(owner=user, name="Secret")
    client.force_login(other_user)
    assert client.get(reverse("board-detail", args=[board.pk])).status_code == 404
    assert "Secret" not in client.get(reverse("boards")).content.decode()
    assert client.post(reverse("board-update", args=[board.pk]), {"name": "x"}).status_code == 404
    assert client.post(reverse("board-delete", args=[board.pk])).status_code == 404


def test_share_rename_remove_and_delete(client, user):
    generation = make_generation(user)
    board = board_create(owner=user, name="Draft")
    item = board_item_add(board=board, user=user, generation=generation)
    client.force_login(user)
    client.post(reverse("board-update", args=[board.pk]), {"name": "Final", "shared": "on"})
    board.refresh_from_db()
    assert (board.name, board.visibility) == ("Final", "team")

    client.post(reverse("board-item-remove", args=[item.pk]))
    assert not BoardItem.objects.exists()
    board_item_add(board=board, user=user, generation=generation)
    client.post(reverse("board-delete", args=[board.pk]))
    assert not Board.objects.exists()
    assert Generation.objects.filter(pk=generation.pk, deleted_at__isnull=True).exists()


def test_a_teammate_cannot_remove_items(client, user, other_user):
    board = board_create(owner=user, name="Team", visibility="team")
    shared = make_generation(user, visibility="team")
    item = board_item_add(board=board, user=user, generation=shared)
    client.force_login(other_user)
    assert client.post(reverse("board-item-remove", args=[item.pk])).status_code == 404
    assert BoardItem.objects.filter(pk=item.pk).exists()


def test_deleted_generations_leave_every_board(client, user):
    generation = make_generation(user, prompt="soon gone")
    board = board_create(owner=user, name="b")
    board_item_add(board=board, user=user, generation=generation)
    client.force_login(user)
    client.post(reverse("generation-delete", args=[generation.id]))
    assert "soon gone" not in client.get(reverse("board-detail", args=[board.pk])).content.decode()
