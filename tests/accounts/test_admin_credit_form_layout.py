"""The admin's grant and adjust page lays its fields out as the admin's own forms do: each
label and its field on one line (Django's aligned fieldset), so the two line up."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("action", ["grant_credits", "adjust_credits"])
def test_each_label_shares_a_row_with_its_field(admin_client: Client, user: User, action: str):
    response = admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [user.pk], "index": "0"},
    )
    body = response.content.decode()
    assert '<fieldset class="module aligned">' in body
    for name in ("amount", "memo"):
        assert re.search(
            rf'<div class="flex-container"><label [^>]*for="id_{name}"[^>]*>.*?</label> '
            rf'<(input|textarea)[^>]*name="{name}"',
            body,
            re.S,
        ), name
