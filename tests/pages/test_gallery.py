"""The gallery: "mine" and "team" tabs, filters, search, pagination; never a deleted or
someone else's private generation."""

import pytest
from django.urls import reverse
from django.utils import timezone

from generations.models import Generation
from tests.factories import StarFactory
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db


def shown(client, **query) -> list[str]:
    response = client.get(reverse("gallery"), query)
    assert response.status_code == 200
    return [generation.prompt for generation in response.context["page"].object_list]


def test_mine_shows_only_my_live_generations(client, user, other_user):
    make_generation(user, prompt="mine private")
    make_generation(user, prompt="mine shared", visibility="team")
    gone = make_generation(user, prompt="mine deleted")
    Generation.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    make_generation(other_user, prompt="theirs shared", visibility="team")
    client.force_login(user)
    assert sorted(shown(client)) == ["mine private", "mine shared"]


def test_team_shows_everyones_shared_generations_only(client, user, other_user, staff_user):
    make_generation(user, prompt="mine shared", visibility="team")
    make_generation(other_user, prompt="theirs shared", visibility="team")
    make_generation(other_user, prompt="theirs private")
    gone = make_generation(other_user, prompt="theirs deleted", visibility="team")
    Generation.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    client.force_login(user)
    assert sorted(shown(client, tab="team")) == ["mine shared", "theirs shared"]
    # Staff may open anything, but the team tab is the team's view, not an audit.
    client.force_login(staff_user)
    assert sorted(shown(client, tab="team")) == ["mine shared", "theirs shared"]


def test_filters_by_model_status_date_and_stars(client, user):
    fox = make_generation(user, prompt="fox", model="seedream-4.0")
    make_generation(user, prompt="tea", model="dreamina-3.1")
    make_generation(user, prompt="storm", status=Generation.Status.FAILED)
    make_generation(user, prompt="old", created_days_ago=30)
    StarFactory(user=user, generation=fox)
    client.force_login(user)
    assert shown(client, model="dreamina-3.1") == ["tea"]
    assert shown(client, status="failed") == ["storm"]
    today = timezone.localdate().isoformat()
    assert "old" not in shown(client, created_from=today)
    assert shown(
        client, created_to=(timezone.localdate() - timezone.timedelta(days=10)).isoformat()
    ) == ["old"]
    assert shown(client, starred="on") == ["fox"]


def test_search_needs_every_word_in_any_order(client, user):
    make_generation(user, prompt="A red fox in fresh snow")
    make_generation(user, prompt="Snowy owl")
    client.force_login(user)
    assert shown(client, q="snow fox") == ["A red fox in fresh snow"]
    assert len(shown(client, q="SNOW")) == 2


def test_team_tab_filters_by_author(client, user, other_user):
    make_generation(user, prompt="by me", visibility="team")
    make_generation(other_user, prompt="by them", visibility="team")
    client.force_login(user)
    response = client.get(reverse("gallery"), {"tab": "team", "author": other_user.pk})
    assert [g.prompt for g in response.context["page"].object_list] == ["by them"]
    assert f'<option value="{other_user.pk}" selected>' in response.content.decode()
    # "Made by" is only offered where there is more than one author.
    assert "Made by" not in client.get(reverse("gallery")).content.decode()


def test_a_backwards_date_range_is_an_error_not_a_crash(client, user):
    client.force_login(user)
    response = client.get(
        reverse("gallery"), {"created_from": "2030-01-02", "created_to": "2030-01-01"}
    )
    assert response.status_code == 200
    assert "before the start date" in response.content.decode()


def test_cards_show_model_size_cost_and_author_with_lazy_thumbnails(client, user):
    generation = make_generation(user, prompt="fox", images=3)
    client.force_login(user)
    body = client.get(reverse("gallery")).content.decode()
    assert '<span class="tile-model">Seedream 4.0</span>' in body
    assert '<span class="tile-size">1024\N{MULTIPLICATION SIGN}1024</span>' in body
    assert "90 cr" in body
    assert user.username in body
    cover = generation.outputs.first()
    assert f'src="{reverse("output-thumbnail", args=[cover.pk])}"' in body
    assert 'loading="lazy"' in body


def test_pages_keep_the_filters(client, user):
    for number in range(30):
        make_generation(user, prompt=f"fox {number}", images=1)
    client.force_login(user)
    response = client.get(reverse("gallery"), {"q": "fox"})
    assert len(response.context["page"].object_list) == 24
    body = response.content.decode()
    assert "?q=fox&amp;page=2" in body
    assert len(shown(client, q="fox", page=2)) == 6
    assert len(shown(client, q="fox", page="nonsense")) == 24


def test_the_gallery_needs_a_login(client):
    response = client.get(reverse("gallery"))
    assert response.status_code == 302
