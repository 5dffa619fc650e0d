"""The Ark emulator's own rules: if these drift from providers.md §1, adapter tests lie."""

import base64
import json

import httpx
import pytest

from tests.conftest import make_png
from tests.emulators.ark import ArkEmulator

SEEDREAM_40 = "doubao-seedream-4-0-250828"


def post(
    emulator: ArkEmulator, body: dict[str, object], *, key: str = "test-key"
) -> httpx.Response:
    with httpx.Client(transport=emulator.transport(), base_url=emulator.base_url) as client:
        response = client.post(
            "/api/v3/images/generations", json=body, headers={"Authorization": f"Bearer {key}"}
        )
        response.read()
        return response


def body_for(model: str = SEEDREAM_40, **fields: object) -> dict[str, object]:
    return {"model": model, "prompt": "a red kite", "size": "1K"} | fields


def png_uri(fmt: str = "png") -> str:
    return f"data:image/{fmt};base64,{base64.b64encode(make_png(32, 32)).decode()}"


def rejection(response: httpx.Response) -> tuple[int, str, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["param"], error["message"]


def test_wrong_key_gets_arks_401_envelope() -> None:
    response = post(ArkEmulator(), body_for(), key="nope")

    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"code", "message", "param", "type"}
    assert (error["code"], error["param"], error["type"]) == (
        "AuthenticationError",
        "",
        "Unauthorized",
    )
    assert error["message"].endswith(response.headers["x-request-id"])


@pytest.mark.parametrize(
    ("flavour", "model", "status"),
    [
        ("volcengine", SEEDREAM_40, 200),
        ("volcengine", "seedream-4-0-250828", 404),
        ("byteplus", "seedream-4-0-250828", 200),
        ("byteplus", SEEDREAM_40, 404),
    ],
)
def test_each_flavour_accepts_only_its_model_ids(flavour: str, model: str, status: int) -> None:
    response = post(ArkEmulator(flavour=flavour), body_for(model))

    assert response.status_code == status
    if status == 404:
        assert response.json()["error"]["code"] == "InvalidEndpointOrModel.NotFound"


@pytest.mark.parametrize(
    ("model", "size", "message"),
    [
        ("doubao-seedream-4-5-251128", "1280x720", "image size must be at least 3686400 pixels"),
        (SEEDREAM_40, "5000x5000", "image size must be at most 16777216 pixels"),
        (SEEDREAM_40, "8000x400", "aspect ratio must be between 1/16 and 16"),
        ("doubao-seedream-4-5-251128", "1K", "size must be one of 'WIDTHxHEIGHT', '2k', '4k'"),
        ("doubao-seedream-3-0-t2i-250415", "2K", "size must be one of 'WIDTHxHEIGHT'"),
        ("doubao-seedream-5-0-260128", "4096x4096", "at most 10404496 pixels"),
    ],
)
def test_size_rules_per_model(model: str, size: str, message: str) -> None:
    status, code, param, text = rejection(post(ArkEmulator(), body_for(model, size=size)))

    assert (status, code, param) == (400, "InvalidParameter", "size")
    assert text.startswith("The parameter `size` specified in the request is not valid: ")
    assert message in text


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"seed": 7}, "seed"),
        ({"guidance_scale": 2.5}, "guidance_scale"),
        ({"n": 2}, "n"),
        ({"image": [png_uri()] * 15}, "image"),
        ({"image": png_uri("PNG")}, "image"),
        (
            {
                "image": [png_uri()] * 10,
                "sequential_image_generation": "auto",
                "sequential_image_generation_options": {"max_images": 6},
            },
            "sequential_image_generation_options.max_images",
        ),
    ],
)
def test_seedream_4_rejects_what_it_does_not_take(fields: dict[str, object], param: str) -> None:
    status, code, sent_param, _ = rejection(post(ArkEmulator(), body_for() | fields))

    assert (status, code, sent_param) == (400, "InvalidParameter", param)


@pytest.mark.parametrize(
    ("image", "code"), [(None, "MissingParameter"), ([png_uri()] * 2, "InvalidParameter")]
)
def test_seededit_needs_exactly_one_image(image: object, code: str) -> None:
    fields = {"size": "adaptive"} | ({"image": image} if image else {})
    response = post(ArkEmulator(), body_for("doubao-seededit-3-0-i2i-250628", **fields))

    assert rejection(response)[:3] == (400, code, "image")


def test_validation_failure_with_stream_is_plain_json() -> None:
    response = post(ArkEmulator(), body_for(size="100x100", stream=True))

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"


def test_group_returns_max_images_with_token_usage() -> None:
    body = body_for(
        size="2048x2048",
        sequential_image_generation="auto",
        sequential_image_generation_options={"max_images": 3},
    )

    reply = post(ArkEmulator(), body).json()

    assert [entry["size"] for entry in reply["data"]] == ["2048x2048"] * 3
    assert reply["usage"] == {
        "generated_images": 3,
        "output_tokens": 3 * 16384,
        "total_tokens": 3 * 16384,
    }


def test_tier_resolves_to_the_table_size_for_the_prompts_ratio() -> None:
    reply = post(ArkEmulator(), body_for(size="2k", prompt="a wide 16:9 harbour")).json()

    assert reply["data"][0]["size"] == "2848x1600"


def test_stream_sends_one_event_per_image_then_completed_and_done() -> None:
    emulator = ArkEmulator()
    body = body_for(
        stream=True,
        sequential_image_generation="auto",
        sequential_image_generation_options={"max_images": 2},
    )

    response = post(emulator, body)

    assert response.headers["content-type"] == "text/event-stream"
    lines = response.text.split("\n")
    data = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    assert [event["type"] for event in data] == [
        "image_generation.partial_succeeded",
        "image_generation.partial_succeeded",
        "image_generation.completed",
    ]
    assert [event.get("image_index") for event in data[:2]] == [0, 1]
    assert data[-1]["usage"]["generated_images"] == 2
    assert lines[-3:] == ["data: [DONE]", "", ""]
    assert next(line for line in lines if line.startswith("event: ")) == (
        "event: image_generation.partial_succeeded"
    )


def test_urls_are_served_by_the_emulator() -> None:
    emulator = ArkEmulator()
    url = post(emulator, body_for()).json()["data"][0]["url"]

    with httpx.Client(transport=emulator.transport()) as client:
        image = client.get(url)

    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"


# The body volcengine-python-sdk and byteplus-python-sdk-v2 send for a call that sets only
# these fields: every other parameter of `images.generate` goes out as null.
SDK_NULLS = {
    "seed": None,
    "guidance_scale": None,
    "optimize_prompt": None,
    "optimize_prompt_options": None,
    "tools": None,
    "output_format": None,
    "layer_decomposition": None,
}


def test_null_fields_of_the_official_sdks_count_as_absent() -> None:
    body = body_for(
        size="2048x2048",
        image=png_uri(),
        response_format="url",
        watermark=False,
        sequential_image_generation="auto",
        sequential_image_generation_options={"max_images": 2},
        **SDK_NULLS,
    )

    response = post(ArkEmulator(), body)

    assert response.status_code == 200, response.text
    assert [entry["size"] for entry in response.json()["data"]] == ["2048x2048"] * 2


def test_a_null_inside_an_object_counts_as_absent_too() -> None:
    body = body_for(
        size="2048x2048",
        image=[png_uri()] * 3,
        sequential_image_generation="auto",
        sequential_image_generation_options={"max_images": None},
        response_format=None,
    )

    reply = post(ArkEmulator(), body).json()

    # max_images absent: the documented default 15 shrinks to fit the 3 references.
    assert len(reply["data"]) == 12
    assert reply["data"][0]["url"].startswith("http")
