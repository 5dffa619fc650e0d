"""The schemas say what the server checks, and the server refuses what the schemas refuse.

Each case here is one the live contract run (tests/integration/test_api_contract.py) found
disagreeing before; they are pinned where a failure is quick to read.
"""

import pytest
from openapi_spec_validator import validate

from accounts.models import ApiKey
from generations.models import Generation
from generations.openai_compat.inputs import ImagesGenerationsInput
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db


def native_schema(client) -> dict:
    return client.get("/api/schema/?format=json").json()


def test_request_components_are_described_as_the_server_reads_them(client):
    schemas = native_schema(client)["components"]["schemas"]
    create = schemas["GenerationCreateRequest"]
    assert create["properties"]["prompt"]["minLength"] == 1
    assert create["additionalProperties"] is False  # unknown fields are refused by name
    form = schemas["GenerationCreateMultipartRequest"]
    assert form["properties"]["seed"]["type"] == "integer"  # a form has no null
    assert form["properties"]["references"]["items"]["format"] == "binary"
    assert schemas["UploadListCreateRequest"]["properties"]["file"]["format"] == "binary"
    assert schemas["KeyCreateRequest"]["properties"]["name"]["minLength"] == 1


def test_create_links_lead_to_the_operations_on_the_result(client):
    created = native_schema(client)["paths"]["/api/v1/generations"]["post"]["responses"]["201"]
    assert set(created["links"]) == {
        "generations_retrieve",
        "generations_events",
        "generations_cancel",
        "generations_delete",
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=", "status"),
        ("model=", "model"),
        ("created_before=", "created_before"),
        ("q=", "q"),
        ("limit=ten", "limit"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=²", "limit"),
    ],
)
def test_an_empty_or_unreadable_filter_is_refused_not_ignored(user, query, field):
    response = key_client(user).get(f"/api/v1/generations?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_a_valid_page_size_is_kept(user, make_generation):
    for _ in range(3):
        make_generation(user)
    page = key_client(user).get("/api/v1/generations?limit=2").json()
    assert len(page["results"]) == 2
    assert page["next"]


def test_an_empty_event_stream_format_is_refused(user, make_generation):
    generation = make_generation(user)
    response = key_client(user).get(f"/api/v1/generations/{generation.id}/events?format=")
    assert response.status_code == 400
    assert "format" in response.json()["error"]["details"]


def test_empty_optional_strings_mean_the_default(user, local_account):
    response = key_client(user).post(
        "/api/v1/generations",
        {
            "model": "seedream-4.0",
            "prompt": "a lighthouse",
            "size": "",
            "aspect_ratio": "",
            "output_format": "",
            "webhook_url": "",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("prompt", [7, True, ["a"], {"text": "a"}])
def test_a_prompt_that_is_not_text_is_refused(user, local_account, prompt):
    response = key_client(user).post(
        "/api/v1/generations", {"model": "seedream-4.0", "prompt": prompt}, format="json"
    )
    assert response.status_code == 400
    assert "prompt" in response.json()["error"]["details"]
    assert not Generation.objects.exists()


def test_a_form_leaves_optional_numbers_out_for_none(user, local_account):
    response = key_client(user).post(
        "/api/v1/generations",
        {"model": "seedream-4.0", "prompt": "a lighthouse", "seed": "", "guidance_scale": ""},
        format="multipart",
    )
    assert response.status_code == 201, response.json()


def test_a_key_name_must_be_text_and_an_empty_expiry_means_never(user):
    client = key_client(user)
    assert client.post("/api/v1/keys", {"name": 0}, format="json").status_code == 400
    created = client.post("/api/v1/keys", {"name": "ci", "expires_at": ""}, format="json")
    assert created.status_code == 201
    assert ApiKey.objects.get(id=created.json()["id"]).expires_at is None


def test_the_openai_description_is_served_valid_and_follows_the_serializers(client):
    schema = client.get("/api/schema/openai/").json()
    validate(schema)
    assert set(schema["paths"]) == {"/v1/images/generations", "/v1/images/edits", "/v1/models"}
    body = schema["paths"]["/v1/images/generations"]["post"]["requestBody"]["content"]
    properties = body["application/json"]["schema"]["properties"]
    fields = ImagesGenerationsInput().fields
    assert set(properties) == set(fields)
    assert properties["n"]["maximum"] == fields["n"].max_value
    assert properties["prompt"]["maxLength"] == fields["prompt"].max_length
    assert properties["response_format"]["enum"] == ["url", "b64_json"]
    edits = schema["paths"]["/v1/images/edits"]["post"]["requestBody"]["content"]
    assert edits["multipart/form-data"]["schema"]["properties"]["image"]["format"] == "binary"


def test_the_docs_page_lists_both_descriptions_with_no_inline_script(client):
    html = client.get("/api/docs/").content.decode()
    assert "/api/schema/?format=json" in html
    assert "/api/schema/openai/" in html
    assert "js/api-docs.js" in html
    assert "<script>" not in html
    assert client.get("/api/schema/openai/")["Content-Type"] == "application/json"
