"""Numbers in query strings, forms and links: other numerals and huge numbers are refused as
bad input (4xx or ignored), never a 500."""

import pytest
from django.urls import reverse

from studio_core.parsing import int_from_text
from tests.pages.test_compose import compose_data

pytestmark = pytest.mark.django_db

NOT_NUMBERS = ["²", "٣", "\uff11\uff12", "-1", "+1", " 1", "1.0", "0x10", "", "9" * 5000]


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_only_ascii_digits_within_bounds_read_as_a_number(text):
    assert int_from_text(text) is None


def test_bounds():
    assert int_from_text("0") == 0
    assert int_from_text("42", minimum=1, maximum=42) == 42
    assert int_from_text("43", maximum=42) is None
    assert int_from_text("0", minimum=1) is None
    assert int_from_text(None) is None


@pytest.mark.parametrize("text", ["²", "9" * 5000])
def test_a_media_link_with_a_strange_expiry_is_refused_not_a_500(client, text):
    response = client.get(f"/media/o/1/full?exp={text}&sig=x")
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("text", ["²", "9" * 5000])
def test_workspace_query_and_form_numbers_are_refused_not_a_500(client, user, text):
    client.force_login(user)
    assert client.get(f"{reverse('workspace')}?reference_output={text}").status_code == 200
    quote = client.get(reverse("compose-quote"), {**compose_data(), "upload_count": text})
    assert quote.status_code == 200
    posted = client.post(reverse("workspace"), compose_data(carried_references=[f"output:{text}"]))
    assert posted.status_code in (302, 400)
