"""A gallery date range that ends before it starts lists nothing, and says why."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.pages.conftest import make_generation

pytestmark = pytest.mark.django_db


def test_a_reversed_date_range_lists_nothing_and_says_so(client, user):
    make_generation(user, created_days_ago=1)
    make_generation(user, created_days_ago=3)
    client.force_login(user)
    today = timezone.localdate()
    response = client.get(
        reverse("gallery"),
        {"created_from": today.isoformat(), "created_to": (today - timedelta(days=5)).isoformat()},
    )
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0
    assert "The end date is before the start date" in response.content.decode()


def test_a_forward_range_still_filters(client, user):
    make_generation(user, created_days_ago=1)
    make_generation(user, created_days_ago=3)
    client.force_login(user)
    today = timezone.localdate()
    response = client.get(
        reverse("gallery"),
        {"created_from": (today - timedelta(days=2)).isoformat(), "created_to": today.isoformat()},
    )
    assert response.context["page"].paginator.count == 1
