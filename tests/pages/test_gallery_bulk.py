"""``POST /gallery/bulk/``: star, add to a board, share or make private, zip and delete the
selected images through the single actions' services, each image checked on its own (others'
are skipped and reported), one confirmation before deleting, one audit event per action."""

import io
import zipfile

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import AuditEvent
from generations.models import Board, BoardItem, Generation, Star
from tests.factories import BoardFactory
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db

BULK = reverse("gallery-bulk")
BACK = f"{reverse('gallery')}?view=images"


@pytest.fixture
def selection(user, other_user):
    """Five images seen on the "everyone" tab: three of the user's (two generations), two of
    a teammate's shared one."""
    mine = [make_generation(user, images=2, visibility="team"), make_generation(user, images=1)]
    theirs = make_generation(other_user, images=2, visibility="team")
    outputs = [output for generation in mine for output in generation.outputs.all()]
    return {
        "mine": mine,
        "theirs": theirs,
        "ids": [o.pk for o in outputs] + [o.pk for o in theirs.outputs.all()],
    }


def post(client, ids, action, **extra):
    return client.post(BULK, {"ids": ids, "action": action, "next": BACK, **extra})


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_star_skips_nothing_a_viewer_may_see_and_audits_once(client, user, selection):
    client.force_login(user)
    response = post(client, selection["ids"], "star")
    assert response.status_code == 302
    assert response["Location"] == BACK
    starred = set(Star.objects.filter(user=user).values_list("generation_id", flat=True))
    assert starred == {g.pk for g in selection["mine"]} | {selection["theirs"].pk}
    assert texts(response) == ["Starred 5 images."]
    event = AuditEvent.objects.get(action="generations.bulk_star")
    assert sorted(event.after["output_ids"]) == sorted(selection["ids"])
    assert event.actor == user
    post(client, selection["ids"], "unstar")
    assert not Star.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action="generations.bulk_unstar").count() == 1


def test_visibility_skips_and_reports_others_images(client, user, selection):
    client.force_login(user)
    response = post(client, selection["ids"], "private")
    assert texts(response) == [
        "Made 3 images private.",
        "2 of 5 were not yours and were left as they were.",
    ]
    assert set(Generation.objects.filter(owner=user).values_list("visibility", flat=True)) == {
        "private"
    }
    assert Generation.objects.get(pk=selection["theirs"].pk).visibility == "team"
    event = AuditEvent.objects.get(action="generations.bulk_visibility")
    assert len(event.after["output_ids"]) == 3
    assert sorted(event.after["skipped_output_ids"]) == sorted(
        selection["theirs"].outputs.values_list("pk", flat=True)
    )
    assert event.after["visibility"] == "private"
    post(client, selection["ids"], "share")
    assert set(Generation.objects.filter(owner=user).values_list("visibility", flat=True)) == {
        "team"
    }


def test_add_to_an_existing_or_a_new_board(client, user, selection):
    board = BoardFactory(owner=user, name="Moodboard")
    client.force_login(user)
    response = post(client, selection["ids"], "board", board=board.pk)
    assert texts(response) == ["Added 5 images to “Moodboard”."]
    assert BoardItem.objects.filter(board=board).count() == 5
    assert set(BoardItem.objects.values_list("output_id", flat=True)) == set(selection["ids"])
    post(client, selection["ids"][:2], "board", board="", new_board_name="Fresh")
    assert BoardItem.objects.filter(board__name="Fresh", board__owner=user).count() == 2
    assert AuditEvent.objects.filter(action="generations.bulk_board").count() == 2


def test_someone_elses_board_is_refused(client, user, other_user, selection):
    theirs = BoardFactory(owner=other_user)
    client.force_login(user)
    response = post(client, selection["ids"], "board", board=theirs.pk)
    assert "Pick one of your own boards." in " ".join(texts(response))
    assert not BoardItem.objects.exists()


def test_delete_asks_once_then_deletes_only_the_users_generations(client, user, selection):
    client.force_login(user)
    response = post(client, selection["ids"], "delete")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Delete 3 images?" in body
    assert "2 of the selected images are not yours" in body
    assert 'name="confirm" value="1"' in body
    assert not Generation.objects.filter(deleted_at__isnull=False).exists()
    response = post(client, selection["ids"], "delete", confirm="1")
    assert response.status_code == 302
    deleted = set(Generation.objects.filter(deleted_at__isnull=False).values_list("pk", flat=True))
    assert deleted == {g.pk for g in selection["mine"]}
    assert texts(response) == [
        "Deleted 3 images with their generations. Your credits are not affected.",
        "2 of 5 were not yours and were left as they were.",
    ]
    event = AuditEvent.objects.get(action="generations.bulk_delete")
    assert sorted(event.after["generation_ids"]) == sorted(str(g.pk) for g in selection["mine"])


def test_a_running_generation_is_left_with_its_reason(client, user):
    running = make_generation(user, images=1)
    Generation.objects.filter(pk=running.pk).update(status="running")
    client.force_login(user)
    response = post(client, [running.outputs.get().pk], "delete", confirm="1")
    assert "1 of 1 were left as they were: The generation is still running" in texts(response)[0]
    assert Generation.objects.get(pk=running.pk).deleted_at is None


def test_zip_holds_the_selected_images_a_viewer_may_see(client, user, other_user, selection):
    hidden = make_generation(other_user, images=1)  # private: not the user's to see
    client.force_login(user)
    response = post(client, [*selection["ids"], hidden.outputs.get().pk], "zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        assert len(archive.namelist()) == 5


def test_nothing_selected_says_what_to_do(client, user):
    client.force_login(user)
    response = post(client, [], "star")
    assert response.status_code == 302
    assert texts(response) == ["Select at least one image first (tick its box)."]
    assert not AuditEvent.objects.filter(action__startswith="generations.bulk").exists()


def test_images_one_may_not_see_are_ignored_silently(client, user, other_user):
    private = make_generation(other_user, images=1)
    client.force_login(user)
    post(client, [private.outputs.get().pk], "delete", confirm="1")
    assert Generation.objects.get(pk=private.pk).deleted_at is None
    assert not AuditEvent.objects.filter(action__startswith="generations.bulk").exists()


def test_bulk_needs_post_and_a_login(client, user):
    assert client.get(BULK).status_code in (302, 405)
    client.force_login(user)
    assert client.get(BULK).status_code == 405
    assert Board.objects.count() == 0
