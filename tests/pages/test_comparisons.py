"""Comparison pages: run one from /compare/new/, see the columns side by side with each one's
cost, time and provider, live while they run, shared like a board (an outsider gets 404)."""

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.services.teams import team_member_set
from generations.models import Comparison, Generation
from generations.pages.comparisons import Column
from tests.conftest import funded_user
from tests.factories import (
    ComparisonEntryFactory,
    ComparisonFactory,
    TeamFactory,
    UserFactory,
)
from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tasks_not_sent(monkeypatch):
    monkeypatch.setattr("generations.tasks.run_generation_task.apply_async", lambda **kwargs: None)


def comparison_of(owner, *, models, visibility="private", status="succeeded"):
    comparison = ComparisonFactory(owner=owner, models_requested=models, visibility=visibility)
    for position, model in enumerate(models):
        generation = make_generation(
            owner, model=model, images=1, status=status, visibility=visibility, served_by="ark"
        )
        if generation.finished_at is not None:
            Generation.objects.filter(pk=generation.pk).update(
                started_at=generation.finished_at - timedelta(seconds=12 + position)
            )
        ComparisonEntryFactory(comparison=comparison, generation=generation, position=position)
    return comparison


def test_run_a_comparison_from_the_page(client, default_prices):
    user = funded_user(1_000)
    client.force_login(user)
    assert 'href="/compare/new/"' in client.get(reverse("workspace")).content.decode()

    response = client.post(
        reverse("comparison-new"),
        {
            "models": ["seedream-4.0", "seedream-5.0-lite", "dreamina-3.1"],
            "prompt": "a lighthouse at dusk",
            "num_images": 1,
            "visibility": "private",
            "idempotency_key": "abc",
        },
    )

    comparison = Comparison.objects.get()
    assert response.url == reverse("comparison-detail", args=[comparison.pk])
    assert comparison.entries.count() == 3
    page = client.get(response.url).content.decode()
    for label in ("Seedream 4.0", "Seedream 5.0 Lite", "Dreamina 3.1"):
        assert label in page
    assert "30 credits held" in page
    assert 'hx-trigger="every 2s"' in page  # live while they run


def test_a_refused_model_is_named_next_to_the_models(client, default_prices):
    client.force_login(funded_user(1_000))
    response = client.post(
        reverse("comparison-new"),
        {
            "models": ["seedream-4.0", "seedream-4.5"],
            "prompt": "a lighthouse",
            "size": "1024x1024",
            "num_images": 1,
            "visibility": "private",
        },
    )
    assert response.status_code == 400
    assert "Seedream 4.5: " in response.content.decode()
    assert not Comparison.objects.exists()


def test_models_not_started_are_said_with_the_reason(client, default_prices):
    client.force_login(funded_user(40))  # Seedream 4.0 fits, 5.0 Lite does not
    response = client.post(
        reverse("comparison-new"),
        {
            "models": ["seedream-4.0", "seedream-5.0-lite"],
            "prompt": "a lighthouse",
            "num_images": 1,
            "visibility": "private",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "Seedream 5.0 Lite</strong> was not started: This needs 35 credits" in page


def test_the_columns_show_cost_time_and_provider(client, user):
    comparison = comparison_of(user, models=["seedream-4.0", "dreamina-3.1"])
    client.force_login(user)

    response = client.get(reverse("comparison-detail", args=[comparison.pk]))

    page = response.content.decode()
    assert [column.generation.model for column in response.context["columns"]] == [
        "seedream-4.0",
        "dreamina-3.1",
    ]
    assert page.count('<dd data-fact="cost">30 credits</dd>') == 2  # one image at 30 each
    assert '<dd data-fact="time">12 s</dd>' in page
    assert '<dd data-fact="time">13 s</dd>' in page
    assert page.count('<dd data-fact="provider">Volcengine Ark</dd>') == 2
    assert 'hx-trigger="every 2s"' not in page  # all ended: no polling


def test_shared_like_a_board(client, user, other_user):
    private = comparison_of(user, models=["seedream-4.0", "dreamina-3.1"])
    client.force_login(other_user)
    assert client.get(reverse("comparison-detail", args=[private.pk])).status_code == 404
    assert client.get(reverse("comparison-columns", args=[private.pk])).status_code == 404

    client.force_login(user)
    client.post(reverse("comparison-visibility", args=[private.pk]), {"visibility": "team"})
    private.refresh_from_db()
    assert private.visibility == "team"
    assert set(
        Generation.objects.filter(comparison_entry__comparison=private).values_list(
            "visibility", flat=True
        )
    ) == {"team"}

    client.force_login(other_user)
    page = client.get(reverse("comparison-detail", args=[private.pk])).content.decode()
    assert "Dreamina 3.1" in page
    assert "Share with the team" not in page  # only its owner changes who sees it
    response = client.post(
        reverse("comparison-visibility", args=[private.pk]), {"visibility": "private"}
    )
    private.refresh_from_db()
    assert private.visibility == "team"
    assert response.status_code == 302


def test_a_shared_comparison_shows_a_viewer_only_what_they_may_see(client, user, other_user):
    comparison = comparison_of(user, models=["seedream-4.0", "dreamina-3.1"], visibility="team")
    first = comparison.entries.order_by("position").first().generation
    Generation.objects.filter(pk=first.pk).update(visibility="private")
    client.force_login(other_user)
    columns = client.get(reverse("comparison-detail", args=[comparison.pk])).context["columns"]
    assert [column.generation.model for column in columns] == ["dreamina-3.1"]


def test_an_outsider_of_a_team_comparison_gets_404(client, user):
    team = TeamFactory(slug="design")
    team_member_set(team=team, user=user, role="member", actor=None)
    comparison = comparison_of(user, models=["seedream-4.0", "dreamina-3.1"], visibility="team")
    Comparison.objects.filter(pk=comparison.pk).update(team=team)
    client.force_login(UserFactory())
    assert client.get(reverse("comparison-detail", args=[comparison.pk])).status_code == 404


@pytest.mark.parametrize(
    ("seconds", "said"), [(None, ""), (0.42, "0.4 s"), (9.96, "10.0 s"), (12.7, "12 s")]
)
def test_time_taken_keeps_tenths_under_ten_seconds(seconds, said):
    column = Column(generation=Generation(), provider="", seconds=seconds)
    assert column.time_taken == said
