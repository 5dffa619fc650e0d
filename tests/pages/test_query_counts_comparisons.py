"""The comparison page, its live columns and the prompt history cost a fixed number of queries
however many models, images or prompts they show (as ``test_query_counts`` pins the others)."""

import pytest
from django.urls import reverse

from accounts.services.teams import team_member_set
from generations.catalog import list_models
from generations.models import Generation
from tests.factories import ComparisonEntryFactory, ComparisonFactory, TeamFactory
from tests.pages.conftest import make_generation
from tests.pages.test_query_counts import queries_for

pytestmark = pytest.mark.django_db

# Session, user, the top bar's balance; the comparison, its entries, their images, their calls.
COMPARISON_MAX_QUERIES = 7
# Session, user, balance; the count of distinct prompts, the page of them, their newest runs.
PROMPTS_MAX_QUERIES = 6


def add_columns(comparison, owner, models: list[str], *, images: int) -> None:
    start = comparison.entries.count()
    for position, model in enumerate(models, start=start):
        generation = make_generation(
            owner, model=model, images=images, visibility="team", served_by="ark"
        )
        ComparisonEntryFactory(comparison=comparison, generation=generation, position=position)


@pytest.mark.parametrize("name", ["comparison-detail", "comparison-columns"])
def test_comparison_page(client, user, other_user, name, django_assert_max_num_queries):
    comparison = ComparisonFactory(owner=user, visibility="team")
    models = [model.id for model in list_models()]
    add_columns(comparison, user, models[:2], images=1)
    client.force_login(other_user)  # a teammate: the visibility rule is in the count too
    url = reverse(name, args=[comparison.pk])
    few = queries_for(client, url)
    assert few <= COMPARISON_MAX_QUERIES
    add_columns(comparison, user, models[2:], images=4)
    with django_assert_max_num_queries(few):
        assert len(client.get(url).context["columns"]) == len(models)


def test_prompt_history(client, user, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr("generations.pages.prompts.PROMPTS_PAGE_SIZE", 100)
    client.force_login(user)

    def run(count: int) -> None:
        start = Generation.objects.count()
        for number in range(start, start + count):
            make_generation(user, prompt=f"fox {number % (count // 2 + 1)} {start}", images=1)

    run(3)
    url = reverse("prompt-history")
    few = queries_for(client, url)
    assert few <= PROMPTS_MAX_QUERIES
    run(30)
    with django_assert_max_num_queries(few):
        assert len(client.get(url).context["rows"]) > 10


def test_team_prompts_on_the_team_page(client, user, other_user):
    """The team page's "most reused prompts" adds the same two queries however many there are."""
    team = TeamFactory(slug="design")
    for person in (user, other_user):
        team_member_set(team=team, user=person, role="member", actor=None)
    client.force_login(user)

    def share(count: int) -> None:
        for number in range(count):
            made = make_generation(other_user, prompt=f"fern {number % 5}", visibility="team")
            Generation.objects.filter(pk=made.pk).update(shared_team=team)

    url = reverse("team-detail", args=["design"])
    share(3)
    few = queries_for(client, url)
    share(30)
    assert queries_for(client, url) == few
