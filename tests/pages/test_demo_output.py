"""Images from the built-in demo renderer are marked as placeholders wherever they are shown:
the detail page, gallery and board tiles, the workspace's cards."""

import pytest
from django.urls import reverse

from generations.models import Generation
from generations.selectors.generations import generation_get_visible, generation_is_demo
from generations.services.boards import board_create
from tests.factories import BoardItemFactory
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db

BADGE = "Demo — placeholder image"
BADGE_MARKUP = '<span class="demo-badge"'


def _demo_and_real(owner) -> tuple[Generation, Generation]:
    demo = make_generation(owner, prompt="a demo lighthouse", served_by="local")
    real = make_generation(owner, prompt="a real lighthouse", served_by="ark")
    return demo, real


def test_the_detail_page_says_its_images_are_demo_placeholders(client, user):
    demo, real = _demo_and_real(user)
    client.force_login(user)
    body = client.get(reverse("generation-detail", args=[demo.id])).content.decode()
    assert BADGE_MARKUP in body
    assert BADGE in body
    assert 'class="demo-notice" role="note"' in body
    assert "not by Seedream 4.0" in body
    assert 'alt="Demo placeholder — Image 1 of 2' in body
    assert 'data-caption="Demo placeholder · Image 1' in body

    body = client.get(reverse("generation-detail", args=[real.id])).content.decode()
    assert BADGE not in body
    assert "demo-notice" not in body
    assert "Demo placeholder" not in body


def test_gallery_tiles_mark_demo_output_only(client, user):
    _demo_and_real(user)
    client.force_login(user)
    body = client.get(reverse("gallery")).content.decode()
    assert body.count(BADGE) == 1
    tile = body[body.index("a demo lighthouse") :]
    assert tile.index(BADGE) < tile.index("</article>")
    assert "a real lighthouse" in body


def test_board_tiles_mark_demo_output(client, user):
    demo, real = _demo_and_real(user)
    board = board_create(owner=user, name="Lighthouses", visibility="private")
    BoardItemFactory(board=board, generation=demo)
    BoardItemFactory(board=board, generation=real)
    client.force_login(user)
    body = client.get(reverse("board-detail", args=[board.pk])).content.decode()
    assert body.count(BADGE) == 1


def test_workspace_cards_mark_demo_output(client, user):
    demo, real = _demo_and_real(user)
    client.force_login(user)
    body = client.get(reverse("workspace")).content.decode()
    assert body.count(BADGE) == 1
    card = body[body.index(f'id="generation-{demo.id}"') :]
    assert card.index(BADGE) < card.index("</article>")

    assert BADGE in client.get(reverse("generation-card", args=[demo.id])).content.decode()
    assert BADGE not in client.get(reverse("generation-card", args=[real.id])).content.decode()


def test_a_failed_demo_call_without_images_is_not_demo_output(client, user):
    failed = make_generation(user, status=Generation.Status.FAILED, served_by="local")
    assert not generation_is_demo(failed)
    client.force_login(user)
    body = client.get(reverse("generation-detail", args=[failed.id])).content.decode()
    assert BADGE not in body


def test_the_annotation_and_the_attempts_agree(user):
    demo, real = _demo_and_real(user)
    for generation, expected in ((demo, True), (real, False)):
        annotated = generation_get_visible(user=user, generation_id=str(generation.id))
        assert annotated is not None
        assert annotated.is_demo is expected  # type: ignore[attr-defined]
        plain = Generation.objects.get(pk=generation.pk)
        assert not hasattr(plain, "is_demo")
        assert generation_is_demo(plain) is expected
