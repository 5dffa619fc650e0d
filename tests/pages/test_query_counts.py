"""List pages cost a fixed number of queries however many rows they show (STYLE habit 11).

Each page is rendered with 3 rows and then with 30; the second must not need one query more.
The absolute ceilings are pinned too, so a new per-page query is a deliberate change.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from generations.models import Board, Generation
from tests.factories import (
    BoardFactory,
    BoardItemFactory,
    MembershipFactory,
    StarFactory,
    TeamFactory,
)
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db

# Every page: session, user, the top bar's balance; then its own reads. Not counted: the
# session's activity, noted on its first request of each minute (accounts.services.sessions).
WORKSPACE_MAX_QUERIES = 7  # the wallets it may charge, recent generations, their images, notices
GALLERY_MAX_QUERIES = (
    7  # teams (the tabs), count, page rows, their images (+ authors on a shared tab)
)
GALLERY_IMAGES_MAX_QUERIES = 6  # teams (the tabs), the page of images, the boards to add to
BOARDS_MAX_QUERIES = 7  # teams (share with), the boards, their covers, the covers' images
BOARD_MAX_QUERIES = 7  # the board, teams (its owner's settings), its items, their images


def queries_for(client, url: str) -> int:
    client.get(url)  # notes the session's activity for this minute
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def grow(owner, other, *, total: int) -> list[Generation]:
    """``total`` generations of ``owner``, half of them shared, with a teammate's shared ones."""
    made = [
        make_generation(
            owner,
            prompt=f"fox {number}",
            images=2 + number % 3,
            visibility="team" if number % 2 else "private",
        )
        for number in range(total)
    ]
    for number in range(total // 3):
        make_generation(other, prompt=f"teammate {number}", visibility="team")
    return made


def pinned(client, url: str, *, owner, other, ceiling: int, django_assert_max_num_queries) -> None:
    grow(owner, other, total=3)
    few = queries_for(client, url)
    assert few <= ceiling
    grow(owner, other, total=27)
    with django_assert_max_num_queries(few):
        client.get(url)


def test_workspace_list(client, user, other_user, django_assert_max_num_queries):
    client.force_login(user)
    pinned(
        client,
        reverse("workspace"),
        owner=user,
        other=other_user,
        ceiling=WORKSPACE_MAX_QUERIES,
        django_assert_max_num_queries=django_assert_max_num_queries,
    )


@pytest.mark.parametrize("tab", ["mine", "team"])
def test_gallery(client, user, other_user, monkeypatch, tab, django_assert_max_num_queries):
    # One page shows them all, so the page size grows with the rows.
    monkeypatch.setattr("generations.pages.gallery.GALLERY_PAGE_SIZE", 100)
    client.force_login(user)
    pinned(
        client,
        f"{reverse('gallery')}?tab={tab}",
        owner=user,
        other=other_user,
        ceiling=GALLERY_MAX_QUERIES + (1 if tab == "team" else 0),
        django_assert_max_num_queries=django_assert_max_num_queries,
    )


def test_gallery_team_tab(client, user, other_user, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr("generations.pages.gallery.GALLERY_PAGE_SIZE", 100)
    design = TeamFactory(slug="design")
    MembershipFactory(team=design, user=user)
    MembershipFactory(team=design, user=other_user)
    TeamFactory(slug="elsewhere")  # a team the viewer is not in changes nothing

    def share(total: int) -> None:
        for number in range(total):
            made = make_generation(other_user, prompt=f"team {number}", visibility="team")
            Generation.objects.filter(pk=made.pk).update(shared_team=design)

    url = f"{reverse('gallery')}?tab=team&team=design"
    client.force_login(user)
    share(3)
    few = queries_for(client, url)
    assert few <= GALLERY_MAX_QUERIES + 1  # + the tab's authors
    share(27)
    with django_assert_max_num_queries(few):
        assert client.get(url).context["page"].paginator.count == 30


def test_gallery_with_filters_and_stars(client, user, other_user, django_assert_max_num_queries):
    client.force_login(user)
    url = f"{reverse('gallery')}?tab=mine&q=fox&model=seedream-4.0&status=succeeded&starred=on"
    for generation in grow(user, other_user, total=3):
        StarFactory(user=user, generation=generation)
    few = queries_for(client, url)
    assert few <= GALLERY_MAX_QUERIES
    for generation in grow(user, other_user, total=21):
        StarFactory(user=user, generation=generation)
    with django_assert_max_num_queries(few):
        assert client.get(url).context["page"].paginator.count == 24


@pytest.mark.parametrize("tab", ["mine", "team"])
def test_gallery_images(client, user, other_user, tab, django_assert_max_num_queries):
    """The view of images: 3 tiles, then a full page of 60, in the same queries."""

    def images(total: int) -> None:
        for number in range(total):
            make_generation(
                user if number % 2 else other_user,
                prompt=f"fox {number}",
                images=1,
                visibility="team",
            )

    client.force_login(user)
    url = f"{reverse('gallery')}?view=images&tab={tab}"
    images(6)  # three of them the viewer's
    few = queries_for(client, url)
    assert len(client.get(url).context["images"]) in (3, 6)
    assert few <= GALLERY_IMAGES_MAX_QUERIES + (1 if tab == "team" else 0)  # + the authors
    images(120)
    with django_assert_max_num_queries(few):
        assert len(client.get(url).context["images"]) == 60


def boards_with_items(owner, other, *, boards: int, items: int) -> None:
    start = Board.objects.count()
    for number in range(start, start + boards):
        board = BoardFactory(
            owner=owner if number % 2 else other, name=f"board {number}", visibility="team"
        )
        for generation in grow(owner, other, total=items):
            BoardItemFactory(board=board, generation=generation)
            BoardItemFactory(board=board, generation=generation, output=generation.outputs.first())


def test_boards_index(client, user, other_user, django_assert_max_num_queries):
    client.force_login(user)
    boards_with_items(user, other_user, boards=2, items=1)
    few = queries_for(client, reverse("boards"))
    assert few <= BOARDS_MAX_QUERIES
    boards_with_items(user, other_user, boards=10, items=3)
    with django_assert_max_num_queries(few):
        client.get(reverse("boards"))


def test_board_page(client, user, other_user, django_assert_max_num_queries):
    client.force_login(user)
    board = BoardFactory(owner=user, name="Foxes")

    def add(count: int) -> None:
        for generation in grow(user, other_user, total=count):
            BoardItemFactory(board=board, generation=generation)
            BoardItemFactory(board=board, generation=generation, output=generation.outputs.last())

    add(3)
    url = reverse("board-detail", args=[board.pk])
    few = queries_for(client, url)
    assert few <= BOARD_MAX_QUERIES
    add(27)
    with django_assert_max_num_queries(few):
        client.get(url)


# The generation with its images, references and attempts, the boards to add to and those it
# is on, and (from a gallery) its two neighbours; the board choices and the detail page's own.
DETAIL_MAX_QUERIES = 12


def test_detail_page_from_a_gallery(client, user, other_user, django_assert_max_num_queries):
    client.force_login(user)
    generation = make_generation(user, images=2, served_by="ark", created_days_ago=1)
    make_generation(user, created_days_ago=2)
    make_generation(user)
    url = reverse("generation-detail", args=[generation.id]) + "?from=gallery&tab=mine&q=fox"
    few = queries_for(client, url)
    assert few <= DETAIL_MAX_QUERIES
    grow(user, other_user, total=27)
    for number in range(5):
        BoardFactory(owner=user, name=f"board {number}")
        BoardItemFactory(board=Board.objects.last(), generation=generation)
    with django_assert_max_num_queries(few):
        client.get(url)
