import io
from dataclasses import replace

import pytest
from PIL import Image

from generations.providers import (
    AccountConfig,
    ContentRefused,
    ProviderImage,
    ProviderImageFailure,
    ProviderOutcome,
    ProviderRequest,
    ProviderUsage,
    ReferenceInput,
    Unavailable,
    build_adapter,
)
from generations.providers.errors import BadRequest
from tests.providers.support import images_of


def make_request(**overrides: object) -> ProviderRequest:
    fields: dict[str, object] = {
        "model": "seedream-4.0",
        "prompt": "a lighthouse on a cliff at dusk",
        "size": "1280x720",
        "aspect_ratio": "",
        "width": 1280,
        "height": 720,
        "seed": 7,
    }
    fields.update(overrides)
    return ProviderRequest(**fields)  # type: ignore[arg-type]


def run(request: ProviderRequest, **options: object) -> list[ProviderOutcome]:
    account = AccountConfig(kind="local", label="demo", options=options)
    return list(build_adapter(account).generate(request))


def open_image(content: bytes | None) -> Image.Image:
    assert content is not None
    return Image.open(io.BytesIO(content))


@pytest.mark.parametrize(
    ("width", "height"), [(1280, 720), (720, 1280), (1024, 1024), (2048, 129), (17, 4096)]
)
def test_size_is_honoured_exactly(width: int, height: int) -> None:
    (image,) = images_of(run(make_request(width=width, height=height)))

    assert (image.width, image.height) == (width, height)
    assert open_image(image.content).size == (width, height)


def test_group_yields_max_images_then_usage_last() -> None:
    outcomes = run(make_request(max_images=4))

    images = images_of(outcomes)
    assert [image.index for image in images] == [0, 1, 2, 3]
    assert len({image.content for image in images}) == 4
    assert outcomes[-1] == ProviderUsage(generated_images=4, raw=outcomes[-1].raw)  # type: ignore[union-attr]
    assert sum(isinstance(outcome, ProviderUsage) for outcome in outcomes) == 1


@pytest.mark.parametrize(
    ("output_format", "pillow_format", "mime"),
    [("jpeg", "JPEG", "image/jpeg"), ("png", "PNG", "image/png")],
)
def test_output_format(output_format: str, pillow_format: str, mime: str) -> None:
    (image,) = images_of(run(make_request(output_format=output_format)))

    assert image.mime == mime
    assert image.url is None
    assert open_image(image.content).format == pillow_format


def test_same_inputs_give_identical_bytes() -> None:
    request = make_request(max_images=2)

    first = [image.content for image in images_of(run(request))]
    second = [image.content for image in images_of(run(request))]

    assert first == second


def test_unseeded_requests_are_repeatable() -> None:
    request = make_request(seed=None)

    assert images_of(run(request))[0].content == images_of(run(request))[0].content


@pytest.mark.parametrize(
    "change", [{"seed": 8}, {"seed": None}, {"prompt": "a lighthouse on a cliff at dawn"}]
)
def test_different_seed_or_prompt_gives_different_image(change: dict[str, object]) -> None:
    request = make_request()

    original = images_of(run(request))[0]
    changed = images_of(run(replace(request, **change)))[0]  # type: ignore[arg-type]

    assert original.content != changed.content


def test_latency_option_makes_the_call_last_that_long_before_the_first_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[object] = []
    # The module's own `time.sleep`, which is the real one patched for this test only.
    monkeypatch.setattr(
        "generations.providers.local.time.sleep", lambda seconds: events.append(("sleep", seconds))
    )
    account = AccountConfig(kind="local", label="slow demo", options={"latency_s": 2.5})

    for outcome in build_adapter(account).generate(make_request(max_images=3)):
        events.append(type(outcome).__name__)

    # Rendering happens inside the latency: what is slept is the latency less the render time.
    (label, slept), *rest = events
    assert label == "sleep"
    assert 2.0 < slept <= 2.5
    assert rest == [
        "ProviderImage",
        "ProviderImage",
        "ProviderImage",
        "ProviderUsage",
    ]


def test_no_latency_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("generations.providers.local.time.sleep", sleeps.append)

    run(make_request())

    assert sleeps == []


def test_invalid_latency_option_is_rejected_with_its_name() -> None:
    with pytest.raises(ValueError, match="latency_s"):
        run(make_request(), latency_s="slow")


def test_fail_hook_raises_failover_safe_unavailable() -> None:
    with pytest.raises(Unavailable) as caught:
        run(make_request(prompt="a cat [fail]"))

    assert caught.value.code == "provider_unavailable"
    assert caught.value.failover_safe is True


def test_refuse_hook_raises_content_refused_that_is_never_retried() -> None:
    with pytest.raises(ContentRefused) as caught:
        run(make_request(prompt="a cat [refuse]"))

    assert caught.value.code == "content_refused"
    assert caught.value.failover_safe is False
    assert isinstance(caught.value, BadRequest)


def test_partial_hook_fails_the_last_image_only() -> None:
    outcomes = run(make_request(prompt="three cats [partial]", max_images=3))

    assert [type(outcome) for outcome in outcomes] == [
        ProviderImage,
        ProviderImage,
        ProviderImageFailure,
        ProviderUsage,
    ]
    failure = outcomes[2]
    assert isinstance(failure, ProviderImageFailure)
    assert (failure.index, failure.code) == (2, "content_refused")
    usage = outcomes[-1]
    assert isinstance(usage, ProviderUsage)
    assert usage.generated_images == 2


def test_4096_square_renders() -> None:
    (image,) = images_of(run(make_request(width=4096, height=4096, size="4K", aspect_ratio="1:1")))

    assert open_image(image.content).size == (4096, 4096)


def test_refuses_canvases_beyond_any_provider_limit() -> None:
    with pytest.raises(BadRequest, match="at most"):
        run(make_request(width=10000, height=10000))


def test_reference_colour_tints_the_picture() -> None:
    red = io.BytesIO()
    Image.new("RGB", (32, 32), (255, 0, 0)).save(red, format="PNG")
    reference = ReferenceInput(content=red.getvalue(), url=None, mime="image/png")
    request = make_request()

    plain = images_of(run(request))[0]
    tinted = images_of(run(replace(request, references=(reference,))))[0]

    assert plain.content != tinted.content
    plain_red = open_image(plain.content).convert("RGB").resize((1, 1)).getpixel((0, 0))
    tinted_red = open_image(tinted.content).convert("RGB").resize((1, 1)).getpixel((0, 0))
    assert tinted_red[0] > plain_red[0]  # type: ignore[index]


def test_unreadable_or_url_references_still_render() -> None:
    references = (
        ReferenceInput(content=None, url="https://example.com/cat.png", mime="image/png"),
        ReferenceInput(content=b"not an image", url=None, mime="image/png"),
    )

    (image,) = images_of(run(make_request(references=references)))

    assert open_image(image.content).size == (1280, 720)


def test_non_latin_prompt_renders() -> None:
    (image,) = images_of(run(make_request(prompt="一只橘猫在屋顶上晒太阳 🐱")))

    assert open_image(image.content).size == (1280, 720)
