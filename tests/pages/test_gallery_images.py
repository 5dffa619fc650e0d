"""The gallery's view of images: tiles of sized previews in justified rows, pages cut by a
(created_at, id) cursor, the tabs' visibility rules, and the WebP previews themselves."""

import io
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from generations.models import Generation, OutputImage
from generations.selectors.gallery_images import ImageCursor, gallery_image_page
from generations.selectors.generations import GALLERY_TAB_TEAM, GalleryFilters
from generations.services.images import preview_name
from tests.factories import MembershipFactory, StarFactory, TeamFactory
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db

IMAGES = f"{reverse('gallery')}?view=images"


def all_pages(user, filters: GalleryFilters, *, limit: int) -> list[list[int]]:
    pages, after = [], None
    while True:
        page = gallery_image_page(user=user, filters=filters, after=after, limit=limit)
        pages.append([image.pk for image in page.images])
        if page.next_cursor is None:
            return pages
        after = page.next_cursor


def test_pages_have_no_duplicates_and_no_gaps_with_equal_timestamps(user):
    for number in range(4):
        make_generation(user, prompt=f"fox {number}", images=3)
    # Every image at the same instant but two: only the id orders them.
    same = timezone.now() - timedelta(hours=1)
    OutputImage.objects.update(created_at=same)
    OutputImage.objects.filter(
        pk__in=list(OutputImage.objects.values_list("pk", flat=True)[:2])
    ).update(created_at=same + timedelta(minutes=1))
    pages = all_pages(user, GalleryFilters(), limit=5)
    seen = [image_id for page in pages for image_id in page]
    assert [len(page) for page in pages] == [5, 5, 2]
    assert len(seen) == len(set(seen)) == 12
    expected = list(OutputImage.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    assert seen == expected


def test_the_cursor_token_round_trips_exactly():
    moment = timezone.now().replace(microsecond=123457)
    cursor = ImageCursor(created_at=moment, id=42)
    assert ImageCursor.parse(cursor.token) == cursor
    assert ImageCursor.parse("nonsense") is None
    assert ImageCursor.parse("12-x") is None


def test_the_more_link_pages_through_everything_without_js(client, user, monkeypatch):
    monkeypatch.setattr("generations.pages.gallery_images.GALLERY_IMAGES_PAGE_SIZE", 4)
    for number in range(3):
        make_generation(user, prompt=f"fox {number}", images=3)
    client.force_login(user)
    url, seen = IMAGES, []
    while url:
        response = client.get(url)
        seen += [image.pk for image in response.context["images"]]
        cursor = response.context["next_cursor"]
        url = f"{IMAGES}&after={cursor}" if cursor else ""
        if cursor:
            assert f"after={cursor}" in response.content.decode()
            assert "More images" in response.content.decode()
    assert sorted(seen) == sorted(OutputImage.objects.values_list("pk", flat=True))
    assert len(seen) == 9


def test_the_fragment_is_only_the_tiles_and_the_next_link(client, user, monkeypatch):
    monkeypatch.setattr("generations.pages.gallery_images.GALLERY_IMAGES_PAGE_SIZE", 2)
    make_generation(user, images=3)
    client.force_login(user)
    response = client.get(IMAGES, headers={"X-Gallery-Fragment": "1"})
    body = response.content.decode()
    assert body.count('class="image-tile ') == 2
    assert "More images" in body
    assert "<html" not in body
    assert 'bulk-form" class' not in body
    assert "X-Gallery-Fragment" in response["Vary"]


def test_tiles_serve_sized_webp_previews_never_the_original(client, user):
    generation = make_generation(user, images=2)
    client.force_login(user)
    body = client.get(IMAGES).content.decode()
    for output in generation.outputs.all():
        preview = reverse("output-preview", args=[output.pk, 320])
        assert f'src="{preview}"' in body
        assert f"{reverse('output-preview', args=[output.pk, 640])} 640w" in body
        assert f'src="{reverse("output-file", args=[output.pk])}"' not in body
    assert 'sizes="(max-width: 640px)' in body


def test_tiles_carry_their_aspect_ratio_before_the_image_loads(client, user):
    for width, height in ((900, 2100), (2100, 900), (1024, 1024)):
        generation = make_generation(user, images=1)
        generation.outputs.update(width=width, height=height)
    client.force_login(user)
    body = client.get(IMAGES).content.decode()
    # 9:21 -> 0.43 -> ar-9, 21:9 -> ar-47, 1:1 -> ar-20 (static/css/studio.css)
    for aspect_class, size in (
        ("ar-9", 'width="900" height="2100"'),
        ("ar-47", 'width="2100"'),
        ("ar-20", 'width="1024"'),
    ):
        assert aspect_class in body
        assert size in body


def test_the_preview_is_webp_at_the_width_asked_and_kept_in_storage(client, user):
    generation = make_generation(user, images=1)
    output = generation.outputs.get()
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 900), (200, 80, 40)).save(buffer, format="JPEG")
    default_storage.delete(output.file.name)
    default_storage.save(output.file.name, io.BytesIO(buffer.getvalue()))
    client.force_login(user)
    for width in (320, 640):
        response = client.get(reverse("output-preview", args=[output.pk, width]))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/webp"
        with Image.open(io.BytesIO(b"".join(response.streaming_content))) as image:
            assert image.format == "WEBP"
            assert image.size == (width, round(900 * width / 1600))
        assert default_storage.exists(preview_name(source_sha256=output.sha256, width=width))
    assert client.get(reverse("output-preview", args=[output.pk, 1000])).status_code == 404


def test_a_small_original_is_not_enlarged(client, user):
    output = make_generation(user, images=1).outputs.get()  # 96x72
    client.force_login(user)
    response = client.get(reverse("output-preview", args=[output.pk, 640]))
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as image:
        assert image.size == (96, 72)


def test_an_outsider_never_sees_a_team_shared_image(client, user, other_user):
    design = TeamFactory(slug="design")
    MembershipFactory(team=design, user=user)
    shared = make_generation(user, prompt="team only", images=1, visibility="team")
    Generation.objects.filter(pk=shared.pk).update(shared_team=design)
    everyone = make_generation(user, prompt="for everyone", images=1, visibility="team")
    output = shared.outputs.get()
    client.force_login(other_user)
    body = client.get(f"{IMAGES}&tab=team").content.decode()
    assert "for everyone" in body
    assert "team only" not in body
    assert client.get(f"{IMAGES}&tab=team&team=design").status_code == 404
    assert client.get(reverse("output-preview", args=[output.pk, 320])).status_code == 404
    page = gallery_image_page(
        user=other_user,
        filters=GalleryFilters(tab=GALLERY_TAB_TEAM, team_id=design.pk),
        after=None,
        limit=60,
    )
    assert page.images == []
    # A member of the team sees it on the team's tab.
    member = MembershipFactory(team=design).user
    client.force_login(member)
    body = client.get(f"{IMAGES}&tab=team&team=design").content.decode()
    assert "team only" in body
    assert "for everyone" not in body
    assert everyone.outputs.get().pk not in [
        image.pk for image in client.get(f"{IMAGES}&tab=team&team=design").context["images"]
    ]


def test_the_filters_and_tabs_keep_the_view_of_images(client, user):
    make_generation(user, prompt="a red fox", images=1)
    starred = make_generation(user, prompt="a blue whale", images=1)
    StarFactory(user=user, generation=starred)
    client.force_login(user)
    response = client.get(f"{IMAGES}&q=whale")
    assert [image.generation_id for image in response.context["images"]] == [starred.pk]
    response = client.get(f"{IMAGES}&starred=on")
    assert [image.generation_id for image in response.context["images"]] == [starred.pk]
    body = response.content.decode()
    assert 'name="view" value="images"' in body
    assert "tab=team&amp;view=images" in body
    assert 'aria-current="page">Images</a>' in body


def test_tiles_have_quick_actions(client, user):
    output = make_generation(user, images=1).outputs.get()
    client.force_login(user)
    body = client.get(IMAGES).content.decode()
    assert f"{reverse('output-file', args=[output.pk])}?download=1" in body
    assert reverse("generation-star", args=[output.generation_id]) in body
    assert reverse("board-item-add", args=[output.generation_id]) in body
    assert f"?reference_output={output.pk}" in body
    # Opened within this gallery's filter (previous/next on the detail page walk it).
    detail = reverse("generation-detail", args=[output.generation_id])
    assert f"{detail}?from=gallery&amp;view=images#image-0" in body
    assert 'class="image-tile-open lightbox-trigger"' in body
    assert 'id="lightbox"' in body
