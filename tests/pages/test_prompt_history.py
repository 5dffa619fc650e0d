"""Prompt history: the distinct prompts a user ran with their newest settings, searchable, one
click to reuse; the team page lists the prompts most often run in the team's shared work."""

import pytest
from django.urls import reverse

from accounts.services.teams import team_member_set
from generations.models import Generation
from tests.factories import TeamFactory
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db


def test_each_prompt_once_with_its_newest_settings_and_how_often(client, user, other_user):
    make_generation(user, prompt="a harbour at dusk", model="seedream-4.0", created_days_ago=3)
    newest = make_generation(user, prompt="a harbour at dusk", model="dreamina-3.1", images=1)
    make_generation(user, prompt="a red fox in snow", created_days_ago=1)
    make_generation(other_user, prompt="someone else's castle")
    deleted = make_generation(user, prompt="a deleted idea")
    Generation.objects.filter(pk=deleted.pk).update(deleted_at=deleted.created_at)
    client.force_login(user)

    response = client.get(reverse("prompt-history"))

    rows = response.context["rows"]
    assert [(row.prompt, row.runs) for row in rows] == [
        ("a harbour at dusk", 2),
        ("a red fox in snow", 1),
    ]
    assert rows[0].latest == newest
    page = response.content.decode()
    assert "Dreamina 3.1 · 1024\N{MULTIPLICATION SIGN}1024 · 1:1 · 1 image · run 2 times" in page
    assert f'href="/?reuse={newest.pk}"' in page
    assert "castle" not in page


def test_search_finds_every_word_in_any_order(client, user):
    make_generation(user, prompt="a harbour at dusk")
    make_generation(user, prompt="a red fox in snow")
    client.force_login(user)

    response = client.get(reverse("prompt-history"), {"q": "DUSK harbour"})

    assert [row.prompt for row in response.context["rows"]] == ["a harbour at dusk"]
    missing = client.get(reverse("prompt-history"), {"q": "castle"}).content.decode()
    assert "No prompt of yours contains every word of “castle”" in missing


def test_reuse_fills_the_compose_form_with_the_settings(client, user):
    generation = make_generation(user, prompt="a harbour at dusk", model="dreamina-3.1", images=1)
    client.force_login(user)
    form = client.get(f"{reverse('workspace')}?reuse={generation.pk}").context["form"]
    assert form.initial["prompt"] == "a harbour at dusk"
    assert form.initial["model"] == "dreamina-3.1"
    assert form.initial["aspect_ratio"] == "1:1"


def test_the_team_page_lists_the_most_reused_shared_prompts(client, user, other_user):
    team = TeamFactory(name="Design", slug="design")
    for person in (user, other_user):
        team_member_set(team=team, user=person, role="member", actor=None)

    def shared(owner, prompt):
        made = make_generation(owner, prompt=prompt, visibility="team")
        Generation.objects.filter(pk=made.pk).update(shared_team=team)

    for owner in (user, other_user, other_user):
        shared(owner, "a moodboard of ferns")
    shared(user, "a teal chair")
    make_generation(other_user, prompt="a private plan")  # not shared: not listed
    client.force_login(user)

    response = client.get(reverse("team-detail", args=["design"]))

    rows = response.context["team_prompts"]
    assert [(row.prompt, row.runs) for row in rows] == [
        ("a moodboard of ferns", 3),
        ("a teal chair", 1),
    ]
    page = response.content.decode()
    assert "Most reused prompts" in page
    assert "private plan" not in page
