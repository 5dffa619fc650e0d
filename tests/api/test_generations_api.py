"""The generation endpoints of the native API: create, list, retrieve (+ wait), events, cancel,
delete."""

import base64
import hashlib
import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import CreditAccount, CreditEntry
from generations.api import events as events_module
from generations.api import references as references_module
from generations.messaging import notifications
from generations.models import Generation, Upload
from generations.runtime.db import off_loop
from generations.services import generation_run
from tests.api.conftest import key_client, streamed
from tests.conftest import funded_user, make_png

pytestmark = pytest.mark.django_db

BODY = {"model": "seedream-4.0", "prompt": "a lighthouse at dawn", "size": "1K"}


def data_uri(content: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


def available(user) -> int:
    return CreditAccount.objects.get(user=user).available


def parse_events(response) -> list[tuple[str, dict]]:
    return [(name, data) for name, data, _ in parse_events_with_ids(response)]


def parse_events_with_ids(response) -> list[tuple[str, dict, str]]:
    text = streamed(response).decode()
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"]), lines.get("id", "")))
    return events


def worker_runs_it_while_waiting(monkeypatch, generation) -> list[float]:
    """The first wait of a waiting call runs the generation inline and reports a change, as a
    worker's message would; gives the waits' timeouts."""
    waits: list[float] = []

    async def wait(self, timeout_s: float) -> bool:
        waits.append(timeout_s)
        if len(waits) == 1:
            await off_loop(generation_run)(generation_id=str(generation.id))
        return True

    monkeypatch.setattr(notifications.Watch, "wait", wait)
    return waits


# --- create -----------------------------------------------------------------------------------


def test_create_holds_credits_and_answers_201_with_the_queued_generation(user, local_account):
    before = available(user)
    response = key_client(user).post(
        "/api/v1/generations", {**BODY, "num_images": 2}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued"
    assert body["owner"] == user.username
    assert (body["price_per_image"], body["credits_held"], body["credits_charged"]) == (30, 60, 0)
    assert body["params"]["width"] == 1024
    assert body["outputs"] == []
    assert available(user) == before - 60
    generation = Generation.objects.get(id=body["id"])
    assert generation.api_key is not None  # the key the request came with is recorded


def test_create_runs_to_success_and_retrieve_shows_outputs_with_working_links(
    user, local_account, django_capture_on_commit_callbacks, client
):
    api = key_client(user)
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/generations", {**BODY, "num_images": 2}, format="json")
    body = api.get(f"/api/v1/generations/{created.json()['id']}").json()
    assert body["status"] == "succeeded"
    assert body["credits_charged"] == 60
    assert [(o["index"], o["width"], o["height"], o["format"]) for o in body["outputs"]] == [
        (0, 1024, 1024, "jpeg"),
        (1, 1024, 1024, "jpeg"),
    ]
    assert all(output["bytes"] > 0 for output in body["outputs"])
    assert body["attempts"] == [
        {
            "provider_kind": "local",
            "outcome": "succeeded",
            "error_code": "",
            "latency_ms": body["attempts"][0]["latency_ms"],
            "images": 2,
            "started_at": body["attempts"][0]["started_at"],
            "finished_at": body["attempts"][0]["finished_at"],
        }
    ]
    # The signed links work without a session or key.
    for field in ("url", "thumbnail_url"):
        link = urlsplit(body["outputs"][0][field])
        downloaded = client.get(f"{link.path}?{link.query}")
        assert downloaded.status_code == 200
        assert downloaded["Content-Type"] == "image/jpeg"


def test_a_browser_session_works_too_and_records_no_key(user, local_account):
    session = APIClient()
    session.force_login(user)
    response = session.post("/api/v1/generations", BODY, format="json")
    assert response.status_code == 201
    assert Generation.objects.get(id=response.json()["id"]).api_key is None
    assert session.get("/api/v1/generations").json()["results"][0]["id"] == response.json()["id"]


def test_validation_errors_name_the_field(user, local_account):
    api = key_client(user)
    missing = api.post("/api/v1/generations", {"model": "seedream-4.0"}, format="json")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "invalid_request"
    assert "prompt" in missing.json()["error"]["details"]

    catalog = api.post(
        "/api/v1/generations", {**BODY, "model": "seedream-4.5", "size": "1024x1024"}, format="json"
    )
    assert catalog.status_code == 400
    error = catalog.json()["error"]
    assert error["message"].startswith("size: ")
    assert "3,686,400" in error["details"]["size"][0]

    typo = api.post("/api/v1/generations", {**BODY, "num_image": 2}, format="json")
    assert typo.status_code == 400
    assert "num_image" in typo.json()["error"]["details"]
    assert not Generation.objects.exists()


def test_insufficient_credits_is_402_and_nothing_is_created(local_account):
    poor = funded_user(10)
    response = key_client(poor).post("/api/v1/generations", BODY, format="json")
    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "insufficient_credits"
    assert error["details"] == {"needed": 30, "available": 10, "shortfall": 20}
    assert not Generation.objects.exists()


def test_same_idempotency_key_and_body_answer_the_same_generation_with_one_hold(
    user, local_account
):
    api = key_client(user)
    first = api.post("/api/v1/generations", BODY, format="json", HTTP_IDEMPOTENCY_KEY="job-1")
    again = api.post("/api/v1/generations", BODY, format="json", HTTP_IDEMPOTENCY_KEY="job-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert (first["Idempotent-Replayed"], again["Idempotent-Replayed"]) == ("false", "true")
    assert CreditEntry.objects.filter(kind=CreditEntry.Kind.HOLD).count() == 1

    other_body = api.post(
        "/api/v1/generations",
        {**BODY, "prompt": "something else"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="job-1",
    )
    assert other_body.status_code == 409
    assert other_body.json()["error"]["code"] == "idempotency_conflict"
    assert Generation.objects.count() == 1


def test_overlong_idempotency_key_is_refused_by_name(user, local_account):
    response = key_client(user).post(
        "/api/v1/generations", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["details"]


# --- references -------------------------------------------------------------------------------


def test_references_from_an_upload_a_data_uri_and_an_https_url_in_order(
    user, local_account, monkeypatch
):
    api = key_client(user)
    uploaded, inline, fetched = (make_png(color=(i, i, i)) for i in (10, 20, 30))
    upload_id = api.post("/api/v1/uploads", {"file": _file(uploaded)}, format="multipart").json()[
        "id"
    ]
    fetched_urls = []

    def fake_fetch(url: str) -> bytes:
        fetched_urls.append(url)
        return fetched

    monkeypatch.setattr(references_module, "reference_fetch", fake_fetch)
    response = api.post(
        "/api/v1/generations",
        {
            **BODY,
            "references": [
                {"upload_id": upload_id},
                data_uri(inline),
                "https://images.example.com/cat.png",
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert fetched_urls == ["https://images.example.com/cat.png"]
    generation = Generation.objects.get(id=response.json()["id"])
    stored = [reference.sha256 for reference in generation.references.all()]
    assert stored == [Upload.objects.get().sha256, *(_sha(c) for c in (inline, fetched))]
    assert response.json()["params"]["reference_count"] == 3


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        ("data:image/png;base64,@@@not-base64@@@", "base64 is not valid"),
        ("data:image/png,rawbytes", "must be base64-encoded"),
        ("http://images.example.com/cat.png", "https://"),
        ("ftp://images.example.com/cat.png", "https:// URL or a data: URI"),
        # Refused by the SSRF guard before any connection (generations.security.fetching).
        ("https://127.0.0.1/cat.png", "loopback"),
        ({"upload_id": "00000000-0000-0000-0000-000000000000"}, "no upload"),
        ({"upload_id": "not-a-uuid"}, "no upload"),
    ],
)
def test_unusable_reference_is_400_invalid_reference_naming_its_index(
    user, local_account, reference, says
):
    response = key_client(user).post(
        "/api/v1/generations",
        {**BODY, "references": [data_uri(make_png()), reference]},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_reference"
    assert error["message"].startswith("references[1]: ")
    assert says in error["details"]["references[1]"][0]
    assert not Generation.objects.exists()


@pytest.mark.parametrize("reference", [42, {"upload_id": 7}, {"url": "https://x"}, ""])
def test_reference_of_the_wrong_shape_is_named(user, local_account, reference):
    response = key_client(user).post(
        "/api/v1/generations", {**BODY, "references": [reference]}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "upload_id" in error["details"]["references"]["0"][0]


def test_another_users_upload_cannot_be_used(user, other_user, local_account):
    theirs = key_client(other_user).post(
        "/api/v1/uploads", {"file": _file(make_png())}, format="multipart"
    )
    response = key_client(user).post(
        "/api/v1/generations",
        {**BODY, "references": [{"upload_id": theirs.json()["id"]}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_reference"


def test_oversized_data_uri_is_refused_before_decoding(user, local_account, settings):
    settings.REFERENCE_MAX_BYTES = 1000
    response = key_client(user).post(
        "/api/v1/generations",
        {**BODY, "references": [data_uri(b"x" * 3000)]},
        format="json",
    )
    assert response.status_code == 400
    assert "at most" in response.json()["error"]["details"]["references[0]"][0]


def test_unreadable_reference_bytes_are_a_field_error(user, local_account):
    response = key_client(user).post(
        "/api/v1/generations",
        {**BODY, "references": [data_uri(b"definitely not an image")]},
        format="json",
    )
    assert response.status_code == 400
    assert "not a readable image" in response.json()["error"]["details"]["references"][0]


def test_multipart_create_with_reference_files(user, local_account):
    first, second = make_png(color=(1, 2, 3)), make_png(color=(4, 5, 6))
    response = key_client(user).post(
        "/api/v1/generations",
        {**BODY, "num_images": "1", "seed": "", "references": [_file(first), _file(second)]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    generation = Generation.objects.get(id=response.json()["id"])
    assert [r.sha256 for r in generation.references.all()] == [_sha(first), _sha(second)]


def test_oversized_body_is_refused_before_it_is_read(user, local_account, settings):
    settings.REFERENCE_MAX_BYTES = 100  # the create endpoint's ceiling follows it
    response = key_client(user).post(
        "/api/v1/generations", {**BODY, "prompt": "x" * 3_000_000}, format="json"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


# --- list -------------------------------------------------------------------------------------


def test_list_filters_by_status_model_text_and_date(user, make_generation):
    done = make_generation(user, prompt="a red fox in snow")
    queued = make_generation(user, finished=False, prompt="a blue whale")
    other_model = make_generation(
        user, finished=False, model="seedream-3.0-t2i", size="1024x1024", prompt="red kite"
    )
    api = key_client(user)

    def ids(query: str) -> set[str]:
        response = api.get(f"/api/v1/generations?{query}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids("") == {str(done.id), str(queued.id), str(other_model.id)}
    assert ids("status=succeeded") == {str(done.id)}
    assert ids("model=seedream-3.0-t2i") == {str(other_model.id)}
    assert ids("q=RED") == {str(done.id), str(other_model.id)}
    # Word by word, in any order, as the gallery's search: both words, not the phrase.
    assert ids("q=snow+fox") == {str(done.id)}
    Generation.objects.filter(id=done.id).update(created_at=timezone.now() - timedelta(days=10))
    week_ago = (timezone.now() - timedelta(days=7)).date().isoformat()
    assert ids(f"created_before={week_ago}") == {str(done.id)}
    assert ids(f"created_after={week_ago}") == {str(queued.id), str(other_model.id)}
    assert ids(f"created_after={timezone.now().isoformat()}".replace("+", "%2B")) == set()


@pytest.mark.parametrize(
    "query",
    [
        "status=exploded",
        "model=dall-e",
        "scope=everyone",
        "created_after=yesterday",
        "created_before=2026-02-30",
        "created_after=0001-01-01",
        "cursor=garbage",
        # A well-formed cursor whose position is not a date-time.
        "cursor=" + base64.b64encode(b"p=not-a-date").decode(),
    ],
)
def test_list_refuses_bad_filters_by_name(user, query):
    response = key_client(user).get(f"/api/v1/generations?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["error"]["details"]


def test_list_pages_by_cursor_newest_first(user, make_generation):
    made = [make_generation(user, finished=False, prompt=f"picture {n}") for n in range(5)]
    api = key_client(user)
    seen: list[str] = []
    url = "/api/v1/generations?limit=2"
    while url:
        page = api.get(url).json()
        assert len(page["results"]) <= 2
        seen.extend(row["id"] for row in page["results"])
        url = page["next"]
    assert seen == [str(generation.id) for generation in reversed(made)]


def test_list_takes_the_same_number_of_queries_for_any_page_size(user, make_generation):
    api = key_client(user)
    api.get("/api/v1/me")  # records the key's first use, a write the later calls skip

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = api.get("/api/v1/generations?limit=100")
        assert response.status_code == 200
        return len(captured)

    make_generation(user, num_images=2)
    one = queries_for_list()
    for _ in range(4):
        make_generation(user, num_images=3)
    make_generation(user, finished=False)
    assert queries_for_list() == one
    # Key lookup, the page, its outputs, its attempts.
    assert one == 4


# --- retrieve and waiting ----------------------------------------------------------------------


def test_wait_returns_as_soon_as_the_generation_is_terminal(user, make_generation, monkeypatch):
    generation = make_generation(user, finished=False)
    waits = worker_runs_it_while_waiting(monkeypatch, generation)
    response = key_client(user).get(f"/api/v1/generations/{generation.id}?wait=30")
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"
    assert len(response.json()["outputs"]) == 1
    assert waits == [30]  # one wait, woken by the end


def test_wait_gives_up_after_the_asked_seconds(user, make_generation, monkeypatch):
    generation = make_generation(user, finished=False)
    started = timezone.now()
    response = key_client(user).get(f"/api/v1/generations/{generation.id}?wait=1")
    assert response.json()["status"] == "queued"
    assert timedelta(seconds=0.9) < timezone.now() - started < timedelta(seconds=5)


@pytest.mark.parametrize("wait", ["61", "-1", "soon"])
def test_wait_out_of_range_is_400(user, make_generation, wait):
    generation = make_generation(user, finished=False)
    response = key_client(user).get(f"/api/v1/generations/{generation.id}?wait={wait}")
    assert response.status_code == 400
    assert "wait" in response.json()["error"]["details"]


def test_a_waiting_call_counts_once_against_the_rate_limit(user, make_generation, settings):
    settings.API_RATE_PER_KEY = "2/min"
    generation = make_generation(user)
    client = key_client(user)
    answers = [client.get(f"/api/v1/generations/{generation.id}?wait=5") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[-1].json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in answers[-1]


# --- events -----------------------------------------------------------------------------------


def test_events_stream_status_and_each_output_then_end(user, make_generation, monkeypatch):
    generation = make_generation(user, finished=False, num_images=2)
    worker_runs_it_while_waiting(monkeypatch, generation)
    response = key_client(user).get(f"/api/v1/generations/{generation.id}/events")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    events = parse_events(response)
    assert [name for name, _ in events] == ["status", "output", "output", "status"]
    assert events[0][1]["status"] == "queued"
    assert [data["index"] for name, data in events if name == "output"] == [0, 1]
    assert events[1][1]["url"].startswith("http")
    assert events[-1][1]["status"] == "succeeded"
    assert events[-1][1]["credits_charged"] == 60


def test_events_resume_after_the_last_event_id(user, make_generation):
    generation = make_generation(user, num_images=2)
    client = key_client(user)
    url = f"/api/v1/generations/{generation.id}/events"
    events = parse_events_with_ids(client.get(url))
    assert [name for name, _, _ in events] == ["output", "output", "status"]
    ids = [event_id for _, _, event_id in events]
    assert len(set(ids)) == 3
    assert all(ids)

    def resumed_after(event_id: str) -> list[tuple[str, str]]:
        answer = client.get(url, HTTP_LAST_EVENT_ID=event_id)
        return [(name, event_id) for name, _, event_id in parse_events_with_ids(answer)]

    assert resumed_after(ids[0]) == [("output", ids[1]), ("status", ids[2])]
    assert resumed_after(ids[1]) == [("status", ids[2])]
    assert resumed_after(ids[2]) == []  # it had everything: the stream just ends
    # A garbled id starts over rather than skip anything.
    assert [name for name, _ in resumed_after("garbled")] == ["output", "output", "status"]


def test_events_end_with_timeout_when_the_stream_runs_too_long(user, make_generation, monkeypatch):
    generation = make_generation(user, finished=False)
    monkeypatch.setattr(events_module, "EVENTS_MAX_S", 0)
    response = key_client(user).get(
        f"/api/v1/generations/{generation.id}/events", HTTP_ACCEPT="text/event-stream"
    )
    assert [name for name, _ in parse_events(response)] == [
        "status",
        "timeout",
    ]


def test_a_quiet_stream_sends_a_keep_alive_comment(user, make_generation, monkeypatch):
    generation = make_generation(user, finished=False)
    monkeypatch.setattr(events_module, "KEEPALIVE_S", 0.2)
    monkeypatch.setattr(events_module, "EVENTS_MAX_S", 0.5)
    text = streamed(key_client(user).get(f"/api/v1/generations/{generation.id}/events")).decode()
    blocks = [block.splitlines()[-1] for block in text.strip().split("\n\n")]
    assert blocks[0].startswith("data: ")  # the status
    assert blocks[1:-1]
    assert set(blocks[1:-1]) == {": keep-alive"}
    assert blocks[-1].startswith("data: ")  # the timeout


def test_events_of_a_missing_generation_is_an_error_event_for_sse_clients(user):
    response = key_client(user).get(
        "/api/v1/generations/00000000-0000-0000-0000-000000000000/events",
        HTTP_ACCEPT="text/event-stream",
    )
    assert response.status_code == 404
    assert response.content.decode().startswith("event: error\ndata: ")
    assert '"code":"not_found"' in response.content.decode()


# --- cancel and delete ------------------------------------------------------------------------


def test_cancel_returns_the_whole_hold(user, make_generation):
    before = available(user)
    generation = make_generation(user, finished=False, num_images=3)
    assert available(user) == before - 90
    response = key_client(user).post(f"/api/v1/generations/{generation.id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert response.json()["error_code"] == "canceled"
    assert available(user) == before


def test_cancel_of_a_finished_generation_is_409(user, make_generation):
    generation = make_generation(user)
    response = key_client(user).post(f"/api/v1/generations/{generation.id}/cancel")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_cancelable"


def test_delete_hides_the_generation_and_keeps_the_credits_spent(user, make_generation):
    generation = make_generation(user)
    after_charge = available(user)
    api = key_client(user)
    assert api.delete(f"/api/v1/generations/{generation.id}").status_code == 204
    assert api.get(f"/api/v1/generations/{generation.id}").status_code == 404
    assert api.get("/api/v1/generations").json()["results"] == []
    assert available(user) == after_charge
    generation.refresh_from_db()
    assert generation.deleted_at is not None
    assert generation.outputs.count() == 1  # files go later, with a periodic job
    # Deleting again finds nothing to delete.
    assert api.delete(f"/api/v1/generations/{generation.id}").status_code == 404


def test_delete_of_a_running_generation_is_409(user, make_generation):
    generation = make_generation(user, finished=False)
    response = key_client(user).delete(f"/api/v1/generations/{generation.id}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_deletable"
    generation.refresh_from_db()
    assert generation.deleted_at is None


def _file(content: bytes, name: str = "image.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_images_from_the_demo_renderer_are_marked_demo(user, make_generation):
    generation = make_generation(user)
    body = key_client(user).get(f"/api/v1/generations/{generation.id}").json()
    assert body["demo"] is True
    assert body["attempts"][0]["provider_kind"] == "local"
