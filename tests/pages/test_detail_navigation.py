"""The detail page as a step in a gallery: previous/next within the gallery's filter, the
sized preview with its thumbnail strip, and the reason for each image a generation lacks."""

import html
import re

import pytest
from django.urls import reverse

from generations.models import Generation
from tests.factories import MembershipFactory, TeamFactory
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db


def steps(body: str) -> dict[str, str]:
    """The page's previous/next links, by ``rel``."""
    return {
        rel: html.unescape(href)
        for href, rel in re.findall(r'<a href="([^"]+)" rel="(prev|next)">', body)
    }


def detail(generation: Generation, query: str = "") -> str:
    return reverse("generation-detail", args=[generation.id]) + (f"?{query}" if query else "")


def test_previous_and_next_follow_the_gallery_order_and_keep_its_filter(client, user):
    oldest = make_generation(user, prompt="fox one", created_days_ago=3)
    make_generation(user, prompt="cat between", created_days_ago=2, model="seedream-4.5")
    middle = make_generation(user, prompt="fox two", created_days_ago=1)
    newest = make_generation(user, prompt="fox three")
    client.force_login(user)
    query = "from=gallery&tab=mine&model=seedream-4.0&page=2"
    body = client.get(detail(middle, query)).content.decode()
    links = steps(body)
    carried = "from=gallery&tab=mine&model=seedream-4.0"
    assert links == {"prev": detail(newest, carried), "next": detail(oldest, carried)}
    # The gallery link goes back to the same filter.
    assert f'href="{reverse("gallery")}?{carried}"' in html.unescape(body)
    # At the ends of the list there is nothing to step to.
    assert "next" not in steps(client.get(detail(oldest, query)).content.decode())
    assert "prev" not in steps(client.get(detail(newest, query)).content.decode())


def test_without_a_gallery_there_is_no_previous_or_next(client, user):
    make_generation(user, created_days_ago=1)
    generation = make_generation(user)
    client.force_login(user)
    body = client.get(detail(generation)).content.decode()
    assert steps(body) == {}
    assert "Next →" not in body


def test_a_team_tab_steps_only_through_what_that_team_sees(client, user, other_user):
    design, sales = TeamFactory(slug="design"), TeamFactory(slug="sales")
    for member in (user, other_user):
        MembershipFactory(team=design, user=member)
    MembershipFactory(team=sales, user=other_user)
    first = make_generation(other_user, visibility="team", created_days_ago=3)
    Generation.objects.filter(pk=first.pk).update(shared_team=design)
    hidden = make_generation(other_user, visibility="team", created_days_ago=2)
    Generation.objects.filter(pk=hidden.pk).update(shared_team=sales)
    private = make_generation(other_user, created_days_ago=1)
    current = make_generation(user, visibility="team")
    Generation.objects.filter(pk=current.pk).update(shared_team=design)
    client.force_login(user)
    query = "from=gallery&tab=team&team=design"
    links = steps(client.get(detail(current, query)).content.decode())
    assert links == {"next": detail(first, query)}
    assert str(hidden.id) not in str(links)
    assert str(private.id) not in str(links)
    # A team the user is not in gives no neighbours (and reveals nothing).
    body = client.get(detail(current, "from=gallery&tab=team&team=sales"))
    assert body.status_code == 200
    assert steps(body.content.decode()) == {}


def test_several_images_get_a_thumbnail_strip_of_previews(client, user):
    generation = make_generation(user, images=3)
    client.force_login(user)
    body = client.get(detail(generation)).content.decode()
    strip = body[body.index('class="thumb-strip"') : body.index("</ol>")]
    for output in generation.outputs.all():
        assert f'href="#image-{output.index}"' in strip
        assert reverse("output-thumbnail", args=[output.pk]) in strip
        assert f'"{reverse("output-file", args=[output.pk])}"' not in strip


def test_each_missing_image_of_a_partial_generation_shows_its_reason(client, user):
    generation = make_generation(user, images=3)
    generation.outputs.filter(index=1).delete()
    Generation.objects.filter(pk=generation.pk).update(
        status=Generation.Status.PARTIAL,
        image_errors=[
            {"index": 1, "code": "content_refused", "message": "The provider refused this image."}
        ],
    )
    client.force_login(user)
    body = client.get(detail(generation)).content.decode()
    gap = body[body.index('id="image-1"') : body.index('id="image-2"')]
    assert "Image 2 was not delivered." in gap
    assert "The provider refused this image." in gap
    assert 'id="image-0"' in body
    assert 'id="image-2"' in body


def test_a_missing_image_without_its_own_error_gets_the_generation_reason(client, user):
    generation = make_generation(user, images=2)
    generation.outputs.filter(index=1).delete()
    Generation.objects.filter(pk=generation.pk).update(
        status=Generation.Status.PARTIAL, error_message="The provider stopped after one image."
    )
    client.force_login(user)
    body = client.get(detail(generation)).content.decode()
    assert "Image 2 was not delivered." in body
    assert "The provider stopped after one image." in body


def test_the_provider_table_scrolls_in_its_own_focusable_box(client, user):
    generation = make_generation(user, served_by="ark")
    client.force_login(user)
    body = client.get(detail(generation)).content.decode()
    box = '<div class="table-scroll" tabindex="0" role="region" aria-label="Provider calls">'
    assert box in body


@pytest.mark.parametrize("view", ["", "images"])
def test_the_galleries_tiles_open_the_detail_page_within_their_filter(client, user, view):
    older = make_generation(user, prompt="fox one", created_days_ago=1)
    newer = make_generation(user, prompt="fox two")
    make_generation(user, prompt="cat", created_days_ago=2)
    client.force_login(user)
    gallery_query = "tab=mine&q=fox" + (f"&view={view}" if view else "")

    gallery = html.unescape(client.get(f"{reverse('gallery')}?{gallery_query}").content.decode())

    tile_link = detail(older, f"from=gallery&{gallery_query}")
    assert tile_link in gallery
    body = client.get(tile_link).content.decode()
    assert steps(body) == {"prev": detail(newer, f"from=gallery&{gallery_query}")}
