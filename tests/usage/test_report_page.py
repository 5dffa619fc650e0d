"""The usage report page: drill-downs that find the same generations, CSV equal to the page."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generations.usage.table import FIGURE_COLUMNS
from tests.factories import UserFactory
from tests.usage.builders import make_generation

pytestmark = pytest.mark.django_db

REPORT_URL = reverse("admin:generations_usage_report")


def report_query(*group_by: str, days: int = 30) -> dict[str, object]:
    today = timezone.localdate()
    return {
        "start": (today - timedelta(days=days - 1)).isoformat(),
        "end": today.isoformat(),
        "group_by": list(group_by),
    }


def column(name: str) -> int:
    return [one.name for one in FIGURE_COLUMNS].index(name)


def test_the_admin_index_links_the_reports(admin_client: Client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert REPORT_URL in page
    assert reverse("admin:generations_provider_health") in page
    assert reverse("admin:accounts_auditevent_changelist") in page


def test_report_page_shows_a_chart_and_the_table(admin_client: Client, seeded):
    response = admin_client.get(REPORT_URL, report_query("user", "model"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body
    assert 'class="bar series-0"' in body
    # Every script, style and image comes from our own static files: no asset from another
    # host (a CDN). Read from the attributes, not the text: a CSRF token may spell "cdn".
    assert not re.search(r'(?:src|href)="(?:https?:)?//', body)
    assert '<script src="http' not in body
    report = response.context["report"]
    assert len(response.context["rows"]) == len(report.rows) + 1  # and the total


@pytest.mark.parametrize(
    "group_by", [("user",), ("api_key",), ("model", "day"), ("provider_account",)]
)
def test_every_figure_links_to_exactly_the_generations_behind_it(
    admin_client: Client, seeded, group_by
):
    rows = admin_client.get(REPORT_URL, report_query(*group_by)).context["rows"]

    for row in rows[:4] + rows[-1:]:  # a few groups and the total
        for name, figure in (("generations", "generations"), ("failures", "failures")):
            cell = row.cells[column(name)]
            listed = admin_client.get(cell.url)
            assert listed.status_code == 200, cell.url
            assert listed.context["cl"].result_count == cell.value, (row.labels, figure)


def test_csv_holds_exactly_what_the_page_shows(admin_client: Client, seeded):
    query = report_query("user", "model")
    page = admin_client.get(REPORT_URL, query)
    download = admin_client.get(REPORT_URL, {**query, "format": "csv"})

    assert download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert lines[0] == ["User", "Model", *(one.heading for one in FIGURE_COLUMNS)]
    shown = [
        [*row.labels, *("" if cell.value is None else str(cell.value) for cell in row.cells)]
        for row in page.context["rows"]
    ]
    assert lines[1:] == shown
    assert page.context["csv_url"].endswith("format=csv")


def test_csv_cells_never_start_a_formula(admin_client: Client, user, api_key):
    api_key.name = '=HYPERLINK("http://evil")'
    api_key.save()
    make_generation(owner=user, api_key=api_key)
    download = admin_client.get(REPORT_URL, {**report_query("api_key"), "format": "csv"})
    text = b"".join(download.streaming_content).decode()
    assert "'=HYPERLINK" in text
    assert "\n=HYPERLINK" not in text
    assert ",=HYPERLINK" not in text


def test_a_bad_range_shows_the_error_and_no_report(admin_client: Client):
    response = admin_client.get(REPORT_URL, {"start": "2026-02-10", "end": "2026-02-01"})
    assert response.status_code == 200
    assert "report" not in response.context
    assert "before the start date" in response.content.decode()


def test_the_report_needs_staff_with_the_view_permission(client: Client, user):
    client.force_login(user)
    assert client.get(REPORT_URL).status_code == 302  # to the admin login

    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert client.get(REPORT_URL).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_generation"))
    assert client.get(REPORT_URL).status_code == 200
