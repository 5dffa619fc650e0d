"""Every page's top bar: the colour theme applied from a file before the first paint, and the
main links in a "Menu" disclosure that needs no script."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_theme_script_is_a_file_loaded_before_the_stylesheet(client, user):
    client.force_login(user)
    body = client.get(reverse("workspace")).content.decode()
    head = body[: body.index("</head>")]
    script = head.index('<script src="/static/js/theme.js"></script>')  # not deferred
    assert script < head.index('href="/static/css/studio.css"')
    assert "<script>" not in body  # no inline script: the Content-Security-Policy refuses it
    assert "data-theme-toggle" in body


def test_the_main_links_sit_in_a_menu_disclosure_beside_the_user_name(client, user):
    client.force_login(user)
    body = client.get(reverse("workspace")).content.decode()
    menu = body[body.index('<details class="navmenu">') : body.index("</details>")]
    assert '<summary class="navmenu-button">Menu</summary>' in menu
    assert 'aria-label="Main"' in menu
    assert reverse("account-credits") in menu
    assert f">{user.get_username()}</a>" in body[body.index('class="userbar"') :]
