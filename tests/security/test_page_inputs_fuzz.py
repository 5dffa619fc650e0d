"""Hypothesis drives the pages' query parameters and form fields with hostile text: other
numerals ("²", "٣"), 5,000-digit numbers, negatives, blanks, NUL characters and repeated
parameters. No answer is a 5xx; bad input answers a 4xx or a page that names the problem, and
changes nothing (no generation, no hold on the balance).

The pages: compose (the workspace ``/`` and its POST), the live price (``/quote/``), the
gallery's filters and pager, and images: signed links (``/media/o/<id>/<variant>``) and the
session-checked files (``/images/<id>/``, its thumbnail, ``/references/<id>/``).

Examples share one database and one user on purpose (so the function-scoped fixtures are
reused and that health check is suppressed): each example measures its own before and after.
"""

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.selectors import credit_balance_get
from generations.models import Generation
from generations.security.signed_links import output_url, thumbnail_url
from tests.factories import ReferenceImageFactory
from tests.pages.conftest import make_generation
from tests.pages.test_compose import compose_data

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,  # nothing written under the project; failures print their example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Texts that have broken number and id parsing before, or could.
NASTY = [
    "",
    " ",
    "\t\n",
    "\x00",
    "1\x00",
    "²",
    "٣",
    "٣٣",
    "\uff11\uff12",  # fullwidth 1 2
    "-1",
    "-0",
    "-9223372036854775809",
    "9223372036854775808",
    "9" * 5000,
    "1" + "0" * 5000,
    "1.5",
    "1e400",
    "NaN",
    "inf",
    "-inf",
    "0x10",
    "+1",
    " 1 ",
    "o:²",
    "r:" + "9" * 5000,
    "o:-1",
    "2026-02-30",
    "99999-01-01",
    "0000-00-00",
]
scalars = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=24),
    st.from_regex(r"\A-?[0-9]{1,40}\Z"),
    st.integers().map(str),
)
# A parameter sent once, or repeated (``?a=1&a=2``).
values = st.one_of(scalars, st.lists(scalars, min_size=2, max_size=3))

COMPOSE_FIELDS = [
    "model",
    "prompt",
    "size",
    "aspect_ratio",
    "num_images",
    "seed",
    "guidance_scale",
    "visibility",
    "carried_references",
    "idempotency_key",
]
QUOTE_FIELDS = [*COMPOSE_FIELDS, "upload_count"]
GALLERY_FIELDS = ["tab", "q", "model", "status", "created_from", "created_to", "author"]
GALLERY_FIELDS += ["starred", "page"]
WORKSPACE_QUERY = ["reuse", "reference_output"]
# Surely invalid for the compose form whatever else is sent: no generation may come of them.
INVALID_NUM_IMAGES = ["", " ", "\x00", "²", "٣٣", "-1", "0", "16", "9" * 5000, "1.5", "NaN"]


def fuzzed_params(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of ``names``, each with a nasty value or several."""
    return st.dictionaries(st.sampled_from(names), values, max_size=len(names))


def assert_not_a_server_error(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what} answered {response.status_code}"


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_fuzz_compose_get_and_quote(user, local_account):
    client = logged_in(user)

    @FUZZ
    @given(query=fuzzed_params(WORKSPACE_QUERY), quote=fuzzed_params(QUOTE_FIELDS))
    def check(query: dict[str, Any], quote: dict[str, Any]) -> None:
        response = client.get(reverse("workspace"), query)
        assert_not_a_server_error(response, f"GET / {query!r}")
        assert response.status_code == 200
        response = client.get(reverse("compose-quote"), {**compose_data(), **quote})
        assert_not_a_server_error(response, f"GET /quote/ {quote!r}")
        assert response.status_code == 200

    check()


def test_fuzz_compose_post_makes_a_generation_or_names_the_problem(user, local_account):
    client = logged_in(user)

    @FUZZ
    @given(fields=fuzzed_params(COMPOSE_FIELDS))
    @example(fields={"idempotency_key": "a1\x00"})  # was stored: a 500 on PostgreSQL
    def check(fields: dict[str, Any]) -> None:
        expect_valid_or_named_problem(client, user, {**compose_data(), **fields})

    check()


def test_fuzz_compose_post_with_a_bad_number_changes_nothing(user, local_account):
    client = logged_in(user)

    @FUZZ
    @given(fields=fuzzed_params(COMPOSE_FIELDS), num_images=st.sampled_from(INVALID_NUM_IMAGES))
    def check(fields: dict[str, Any], num_images: str) -> None:
        data = {**compose_data(), **fields, "num_images": num_images}
        response = expect_valid_or_named_problem(client, user, data)
        assert response.status_code == 400, f"num_images={num_images!r} was accepted"

    check()


def expect_valid_or_named_problem(client: Client, user: Any, data: dict[str, Any]) -> Any:
    """Post the compose form: either one generation is made (and its hold taken), or the page
    answers 400 naming the problem, with no generation and the balance as it was."""
    generations = Generation.objects.filter(owner=user).count()
    available = credit_balance_get(user=user).available
    response = client.post(reverse("workspace"), data)
    assert_not_a_server_error(response, f"POST / {data!r}")
    made = Generation.objects.filter(owner=user).count() - generations
    if response.status_code == 302:
        assert made == 1
        assert credit_balance_get(user=user).available < available
        # SQLite stores a NUL character where PostgreSQL refuses it (a 500 there): none may
        # get this far.
        generation = Generation.objects.filter(owner=user).latest("created_at")
        stored = [
            generation.prompt,
            generation.idempotency_key,
            *map(str, generation.params.values()),
        ]
        assert not any("\x00" in text for text in stored), stored
    else:
        assert response.status_code == 400, response.status_code
        assert 'role="alert"' in response.content.decode(), "a refused form names no problem"
        assert made == 0
        assert credit_balance_get(user=user).available == available
    return response


def test_fuzz_gallery_filters_and_pager(user, other_user):
    make_generation(user, prompt="a fox in snow")
    make_generation(other_user, prompt="a shared heron", visibility="team")
    client = logged_in(user)

    @FUZZ
    @given(query=fuzzed_params(GALLERY_FIELDS), tab=st.sampled_from(["mine", "team", "²", "\x00"]))
    def check(query: dict[str, Any], tab: str) -> None:
        response = client.get(reverse("gallery"), {"tab": tab, **query})
        assert_not_a_server_error(response, f"GET /gallery/ {query!r}")
        assert response.status_code == 200

    check()


ids = st.one_of(
    st.from_regex(r"\A[0-9]{1,40}\Z"),
    st.sampled_from(["9" * 5000, "9223372036854775808", "0"]),
)


def test_fuzz_signed_media_links(user):
    output = make_generation(user, images=1).outputs.get()
    anonymous = Client()

    @FUZZ
    @given(
        output_id=ids,
        variant=st.one_of(st.sampled_from(["full", "thumbnail", "FULL", "²"]), scalars),
        query=fuzzed_params(["exp", "sig"]),
    )
    @example(output_id="1", variant="full", query={"exp": "1", "sig": "²"})  # was a 500
    def random_links(output_id: str, variant: str, query: dict[str, Any]) -> None:
        path = f"/media/o/{output_id}/{_path_segment(variant)}"
        response = anonymous.get(path, query)
        assert_not_a_server_error(response, f"GET {path} {query!r}")
        assert response.status_code in (403, 404), response.status_code

    random_links()

    @FUZZ
    @given(
        link=st.sampled_from([output_url, thumbnail_url]),
        issued=st.integers(min_value=-(10**12), max_value=10**12),
        changes=fuzzed_params(["exp", "sig"]),
    )
    def tampered_links(link: Callable[..., str], issued: int, changes: dict[str, Any]) -> None:
        # A genuine signature over an expiry far in the past or future, then maybe tampered.
        url = link(output, now=float(issued))
        parts = urlsplit(url)
        query: dict[str, Any] = dict(parse_qsl(parts.query))
        query.update(changes)
        response = anonymous.get(f"{parts.path}?{urlencode(query, doseq=True)}")
        assert_not_a_server_error(response, f"GET {url} changed {changes!r}")
        if not changes and int(query["exp"]) > time.time() + 1:
            assert response.status_code == 200
        else:
            assert response.status_code in (200, 403), response.status_code

    tampered_links()


def test_fuzz_session_image_files(user, other_user):
    generation = make_generation(user, images=1)
    output = generation.outputs.get()
    ReferenceImageFactory(
        generation=generation,
        position=0,
        file=output.file.name,
        sha256="2" * 64,
        width=96,
        height=72,
        format="jpeg",
        bytes=output.bytes,
    )
    clients = {"anonymous": Client(), "owner": logged_in(user), "teammate": logged_in(other_user)}

    @FUZZ
    @example(who="owner", image_id="9" * 20, kind="/references/{}/", download="")  # was a 500
    @given(
        who=st.sampled_from(sorted(clients)),
        image_id=st.one_of(ids, st.just(str(output.pk))),
        kind=st.sampled_from(["/images/{}/", "/images/{}/thumbnail/", "/references/{}/"]),
        download=values,
    )
    def check(who: str, image_id: str, kind: str, download: Any) -> None:
        path = kind.format(image_id)
        response = clients[who].get(path, {"download": download})
        assert_not_a_server_error(response, f"{who} GET {path}")
        expected = {"anonymous": {302, 404}, "owner": {200, 404}, "teammate": {404}}[who]
        assert response.status_code in expected, (who, path, response.status_code)

    check()


def test_fuzz_pages_ask_anonymous_visitors_to_log_in():
    anonymous = Client()

    @FUZZ
    @given(
        path=st.sampled_from([reverse("workspace"), reverse("compose-quote"), reverse("gallery")]),
        query=fuzzed_params(sorted({*QUOTE_FIELDS, *GALLERY_FIELDS, *WORKSPACE_QUERY})),
        post=st.booleans(),
    )
    def check(path: str, query: dict[str, Any], post: bool) -> None:
        response = anonymous.post(path, query) if post else anonymous.get(path, query)
        assert_not_a_server_error(response, f"anonymous {path} {query!r}")
        assert response.status_code in (302, 405), response.status_code
        assert Generation.objects.count() == 0

    check()


def _path_segment(text: str) -> str:
    # A path segment cannot hold "/" (it would be another route) or "?"/"#" (not the path).
    return text.replace("/", "_").replace("?", "_").replace("#", "_") or "_"
