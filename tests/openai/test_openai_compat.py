"""The OpenAI-compatible endpoint, driven by the official `openai` Python SDK."""

import base64
import io

import httpx
import openai
import pytest
from PIL import Image

from accounts.models import CreditAccount
from accounts.services.keys import api_key_create
from generations.models import Generation
from seedream_site.wsgi import application
from tests.conftest import funded_user, make_png

# Transactional: the call commits, the (inline, test-settings) task runs on commit, and the view
# finds the generation finished when it starts waiting.
pytestmark = pytest.mark.django_db(transaction=True)


def sdk_client(user, *, server: str = "http://testserver") -> openai.OpenAI:
    issued = api_key_create(user=user, name="sdk")
    return openai.OpenAI(
        base_url=f"{server}/v1",
        api_key=issued.key,
        max_retries=0,
        http_client=httpx.Client(transport=httpx.WSGITransport(app=application)),
    )


def test_generate_returns_urls_that_download_without_a_session(local_account):
    user = funded_user(10_000)
    result = sdk_client(user).images.generate(
        model="doubao-seedream-4-0-250828", prompt="a lighthouse", n=2, size="1024x1024"
    )
    assert len(result.data) == 2
    assert result.created > 0
    anonymous = httpx.Client(transport=httpx.WSGITransport(app=application))
    for image in result.data:
        assert image.url.startswith("http://testserver/media/o/")
        response = anonymous.get(image.url)
        assert response.status_code == 200
        assert Image.open(io.BytesIO(response.content)).size == (1024, 1024)
    generation = Generation.objects.get()
    assert generation.model == "seedream-4.0"
    assert generation.api_key is not None
    assert CreditAccount.objects.get(user=user).available == 10_000 - 2 * 30


def test_urls_are_on_the_host_the_client_reached(local_account, settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "studio.lan"]
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    client = sdk_client(funded_user(10_000), server="http://studio.lan:8101")
    result = client.images.generate(model="seedream-4.0", prompt="a lighthouse", size="1K")
    [image] = result.data
    assert image.url.startswith("http://studio.lan:8101/media/o/")
    anonymous = httpx.Client(transport=httpx.WSGITransport(app=application))
    assert anonymous.get(image.url).status_code == 200


def test_b64_json_and_seedream_extensions(local_account):
    client = sdk_client(funded_user(10_000))
    result = client.images.generate(
        model="bytedance/seedream-4",
        prompt="a red kite",
        size="2K",
        response_format="b64_json",
        extra_body={"aspect_ratio": "16:9", "watermark": False},
    )
    image = Image.open(io.BytesIO(base64.b64decode(result.data[0].b64_json)))
    assert image.size == (2848, 1600)


def test_edit_with_several_images(local_account):
    client = sdk_client(funded_user(10_000))
    result = client.images.edit(
        model="seedream-4.5",
        image=[
            ("a.png", make_png(), "image/png"),
            ("b.png", make_png(color=(1, 2, 3)), "image/png"),
        ],
        prompt="blend these",
        size="2048x2048",
    )
    assert len(result.data) == 1
    assert Generation.objects.get().references.count() == 2


def test_models_lists_the_catalog(local_account):
    ids = [model.id for model in sdk_client(funded_user(0)).models.list()]
    assert "seedream-4.5" in ids
    assert "dreamina-3.1" in ids


@pytest.mark.parametrize(
    ("kwargs", "error_class", "code"),
    [
        ({"model": "dall-e-3"}, openai.NotFoundError, "model_not_found"),
        ({"model": "seedream-4.5", "size": "1024x1024"}, openai.BadRequestError, "invalid_value"),
        ({"prompt": "nope [refuse]"}, openai.BadRequestError, "content_policy_violation"),
    ],
)
def test_errors_come_in_openai_envelopes(local_account, kwargs, error_class, code):
    arguments = {"model": "seedream-4.0", "prompt": "a boat", **kwargs}
    with pytest.raises(error_class) as raised:
        sdk_client(funded_user(10_000)).images.generate(**arguments)
    body = raised.value.body
    assert body["code"] == code
    assert set(body) >= {"message", "type", "param", "code"}


def test_too_few_credits_is_402_and_creates_nothing(local_account):
    with pytest.raises(openai.APIStatusError) as raised:
        sdk_client(funded_user(10)).images.generate(model="seedream-4.0", prompt="p")
    assert raised.value.status_code == 402
    assert "short" in raised.value.body["message"]
    assert not Generation.objects.exists()


def test_a_bad_key_is_401(local_account):
    client = openai.OpenAI(
        base_url="http://testserver/v1",
        api_key="sds_000000000000_nope",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.WSGITransport(app=application)),
    )
    with pytest.raises(openai.AuthenticationError) as raised:
        client.images.generate(model="seedream-4.0", prompt="p")
    assert raised.value.body["type"] == "authentication_error"


def test_a_provider_outage_is_a_502_not_a_500(local_account):
    with pytest.raises(openai.APIStatusError) as raised:
        sdk_client(funded_user(10_000)).images.generate(model="seedream-4.0", prompt="x [fail]")
    assert raised.value.status_code == 502
    assert raised.value.body["code"] == "provider_error"


@pytest.mark.parametrize("image", [5, [5], [{"foo": 1}], [None], True, [[1]], ["x"] * 15])
def test_an_image_field_of_the_wrong_shape_is_a_400_not_a_500(local_account, image):
    client = sdk_client(funded_user(10_000))
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.generate(
            model="seedream-4.0", prompt="a kite", size="1K", extra_body={"image": image}
        )
    assert refused.value.status_code == 400
    assert "image" in refused.value.message
    assert not Generation.objects.exists()


def test_a_body_over_the_limit_is_a_413_in_openais_envelope(local_account, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    client = sdk_client(funded_user(10_000))
    with pytest.raises(openai.APIStatusError) as refused:
        client.images.generate(model="seedream-4.0", prompt="a kite " * 400, size="1K")
    assert refused.value.status_code == 413
    assert refused.value.body["code"] == "request_too_large"
    assert not Generation.objects.exists()


def test_an_edit_with_a_mask_is_refused_not_ignored(local_account):
    client = sdk_client(funded_user(10_000))
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.edit(
            model="seedream-4.0",
            image=("a.png", make_png(), "image/png"),
            mask=("m.png", make_png(), "image/png"),
            prompt="only the sky",
            size="1K",
        )
    assert refused.value.body["param"] == "mask"
    assert refused.value.body["code"] == "unsupported_parameter"
    assert not Generation.objects.exists()


def test_a_wrong_method_is_a_405_in_openais_envelope(client):
    response = client.get("/v1/images/generations")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert client.post("/v1/models").json()["error"]["type"] == "invalid_request_error"


def test_a_multipart_body_without_its_boundary_is_a_400_not_a_500(local_account):
    issued = api_key_create(user=funded_user(10_000), name="raw")
    with httpx.Client(
        transport=httpx.WSGITransport(app=application), base_url="http://testserver"
    ) as raw:
        response = raw.post(
            "/v1/images/edits",
            headers={
                "Authorization": f"Bearer {issued.key}",
                "Content-Type": "multipart/form-data",
            },
            content=b"prompt=x",
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"
    assert not Generation.objects.exists()


def test_an_idempotency_key_over_255_characters_is_refused(local_account):
    client = sdk_client(funded_user(10_000))
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.generate(
            model="seedream-4.0",
            prompt="a kite",
            size="1K",
            extra_headers={"Idempotency-Key": "k" * 256},
        )
    assert refused.value.body["param"] == "Idempotency-Key"
    assert not Generation.objects.exists()


def test_empty_optional_strings_mean_the_default_and_a_number_is_not_a_prompt(local_account):
    client = sdk_client(funded_user(10_000))
    result = client.images.generate(
        model="seedream-4.0",
        prompt="a kite",
        size="1K",
        extra_body={"aspect_ratio": "", "output_format": ""},
    )
    assert len(result.data) == 1
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.generate(model="seedream-4.0", prompt=7, size="1K")  # type: ignore[arg-type]
    assert refused.value.body["param"] == "prompt"
    assert Generation.objects.count() == 1
