"""The credits page's history: a line per generation (held → charged → returned), grants and
adjustments as lines of their own, filters, per-day totals, and a fixed number of queries."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import CreditEntry, User
from accounts.services.credits import credits_adjust, credits_grant
from generations.models import Generation
from tests.factories import GenerationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(db) -> User:
    user = UserFactory()
    credits_grant(user=user, amount=1000, actor=None, memo="Welcome aboard")
    return user


def settled(owner: User, *, prompt: str = "a lighthouse at dusk", **fields) -> Generation:
    """A finished generation: 40 held, 30 charged, 10 returned (three ledger entries)."""
    values = {"credits_held": 40, "credits_charged": 30, "status": "partial", "num_images": 4}
    return GenerationFactory(owner=owner, prompt=prompt, model="seedream-4.5", **values | fields)


def page(client, **query) -> tuple[str, list[dict]]:
    response = client.get(reverse("account-credits"), query)
    assert response.status_code == 200
    return response.content.decode(), list(response.context["page"].object_list)


def test_a_generation_is_one_line_from_hold_to_charge_to_return(client, person):
    generation = settled(person)
    assert CreditEntry.objects.filter(generation=generation).count() == 3
    client.force_login(person)
    body, lines = page(client)
    assert [line["line_kind"] for line in lines] == ["generation", "grant"]
    line = lines[0]
    assert (line["line_held"], line["line_charged"], line["line_returned"]) == (40, 30, 10)
    assert line["line_amount"] == -30
    assert line["line_available_after"] == 970
    assert "40 held → 30 charged → 10 returned" in body
    assert reverse("generation-detail", args=[generation.id]) in body
    assert "a lighthouse at dusk" in body
    assert "Seedream 4.5" in body  # the model's name, not its id
    assert ">-30<" in body


def test_grants_and_adjustments_are_lines_of_their_own(client, person, other_user):
    credits_adjust(user=person, amount=-5, actor=other_user, memo="Correction")
    client.force_login(person)
    body, lines = page(client)
    assert [line["line_kind"] for line in lines] == ["adjust", "grant"]
    assert "Adjustment" in body
    assert "Correction" in body
    assert f"by {other_user.get_username()}" in body
    assert "+1,000" in body


def test_the_time_is_one_short_line(client, person):
    client.force_login(person)
    body, lines = page(client)
    shown = timezone.localtime(lines[0]["line_at"]).strftime("%-d %b %H:%M")
    assert re.search(rf"<time [^>]+>{shown}</time>", body)


def test_the_kind_filter_shows_generations_or_grants(client, person):
    settled(person)
    client.force_login(person)
    _, generations = page(client, kind="generations")
    assert [line["line_kind"] for line in generations] == ["generation"]
    _, grants = page(client, kind="grants")
    assert [line["line_kind"] for line in grants] == ["grant"]


def test_the_date_range_filters_and_a_reversed_one_lists_nothing(client, person):
    old = settled(person, prompt="last week")
    week_ago = timezone.now() - timedelta(days=7)
    Generation.objects.filter(pk=old.pk).update(created_at=week_ago)
    CreditEntry.objects.filter(generation=old).update(created_at=week_ago)
    settled(person, prompt="today")
    client.force_login(person)
    today = timezone.localdate()
    body, lines = page(client, start=today.isoformat(), end=today.isoformat())
    assert [line.get("line_prompt") for line in lines] == ["today", None]
    body, lines = page(client, start=today.isoformat(), end=(today - timedelta(days=3)).isoformat())
    assert lines == []
    assert "The end date is before the start date" in body
    assert "Nothing in the history matches these filters." in body


def test_each_day_has_its_totals(client, person):
    settled(person)
    settled(person, prompt="second")
    client.force_login(person)
    body, _ = page(client)
    day = body[body.index('class="ledger-day"') :]
    day = day[: day.index("</tr>")]
    assert timezone.localdate().strftime("%-d %b %Y") in day
    assert "60 spent" in day
    assert "+1,000 added" in day


def test_the_filters_follow_the_pager(client, person):
    for number in range(30):
        settled(person, prompt=f"fox {number}")
    client.force_login(person)
    body, lines = page(client, kind="generations")
    assert len(lines) == 25
    assert 'href="?kind=generations&amp;page=2"' in body


def test_the_page_costs_the_same_queries_however_many_entries(client, person):
    settled(person)
    client.force_login(person)
    client.get(reverse("account-credits"))  # notes the session's activity (once a minute)
    with CaptureQueriesContext(connection) as few:
        page(client)
    for number in range(30):
        settled(person, prompt=f"fox {number}")
        credits_grant(user=person, amount=7, actor=None, memo=f"top-up {number}")
    with CaptureQueriesContext(connection) as many:
        page(client)
    assert len(many) == len(few)
