"""The model catalog: every rule, its edges, and the exact messages callers show users.

Pure Python; no database, no Django settings needed.
"""

import dataclasses
import json
import math

import pytest

from generations.catalog import (
    ASPECT_RATIOS,
    MAX_PROMPT_LENGTH,
    CatalogModel,
    GenerationSpec,
    ResolvedSpec,
    SpecError,
    get_model,
    list_models,
    tier_dimensions,
    validate_spec,
)
from generations.catalog.sizes import ARK_TIER_SIZES, COMMON_ASPECT_RATIOS, DREAMINA_TIER_SIZES

MODEL_IDS = (
    "seedream-5.0-lite",
    "seedream-4.5",
    "seedream-4.0",
    "seedream-3.0-t2i",
    "seededit-3.0-i2i",
    "dreamina-3.1",
)
GROUP_MODELS = ("seedream-5.0-lite", "seedream-4.5", "seedream-4.0")
SEED_MODELS = ("seedream-3.0-t2i", "seededit-3.0-i2i", "dreamina-3.1")
GUIDANCE_MODELS = ("seedream-3.0-t2i", "seededit-3.0-i2i")
# The smallest valid request for each model (SeedEdit must have its one reference image).
REQUIRED_REFERENCES = {"seededit-3.0-i2i": 1}
# What messages call each model: its name, as the pages show it, not its id.
NAMES = {
    "seedream-5.0-lite": "Seedream 5.0 Lite",
    "seedream-4.5": "Seedream 4.5",
    "seedream-4.0": "Seedream 4.0",
    "seedream-3.0-t2i": "Seedream 3.0",
    "seededit-3.0-i2i": "SeedEdit 3.0",
    "dreamina-3.1": "Dreamina 3.1",
}


def spec(model: str, **overrides: object) -> GenerationSpec:
    fields: dict = {
        "model": model,
        "prompt": "a lighthouse at dusk",
        "reference_count": REQUIRED_REFERENCES.get(model, 0),
    }
    fields.update(overrides)
    return GenerationSpec(**fields)


def errors_for(model: str, **overrides: object) -> dict[str, list[str]]:
    with pytest.raises(SpecError) as excinfo:
        validate_spec(spec(model, **overrides))
    return excinfo.value.errors


# --- the model list ---------------------------------------------------------------------------


def test_list_models_returns_the_six_models_in_catalog_order():
    assert [model.id for model in list_models()] == list(MODEL_IDS)


def test_aspect_ratios_are_the_common_eight_plus_9_21():
    assert ASPECT_RATIOS == ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "21:9", "9:21")


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_get_model_returns_the_model(model_id):
    model = get_model(model_id)
    assert isinstance(model, CatalogModel)
    assert model.id == model_id


@pytest.mark.parametrize("model_id", ["seedream-4", "Seedream-4.5", "", "gpt-image-1"])
def test_get_model_rejects_unknown_ids_naming_the_known_ones(model_id):
    with pytest.raises(SpecError) as excinfo:
        get_model(model_id)
    (message,) = excinfo.value.errors["model"]
    assert f'"{model_id}"' in message
    for known in MODEL_IDS:
        assert known in message


@pytest.mark.parametrize(
    ("model_id", "text_to_image", "image_to_image"),
    [
        ("seedream-5.0-lite", True, True),
        ("seedream-4.5", True, True),
        ("seedream-4.0", True, True),
        ("seedream-3.0-t2i", True, False),
        ("seededit-3.0-i2i", False, True),
        ("dreamina-3.1", True, False),
    ],
)
def test_modes(model_id, text_to_image, image_to_image):
    model = get_model(model_id)
    assert (model.text_to_image, model.image_to_image) == (text_to_image, image_to_image)


@pytest.mark.parametrize("model", list_models(), ids=lambda model: model.id)
def test_as_dict_is_json_serializable_and_carries_every_field(model):
    data = json.loads(json.dumps(model.as_dict()))
    for field in dataclasses.fields(CatalogModel):
        assert field.name in data
    assert data["id"] == model.id
    assert data["size_tiers"] == list(model.size_tiers)
    assert data["accepts_explicit_size"] is (model.min_pixels is not None)


def test_as_dict_lists_tier_dimensions_for_the_compose_form():
    data = get_model("seedream-4.0").as_dict()
    assert data["tier_dimensions"]["1K"]["16:9"] == "1280x720"
    assert set(data["tier_dimensions"]) == {"1K", "2K", "4K"}
    assert get_model("seedream-3.0-t2i").as_dict()["tier_dimensions"] == {}


# --- size tiers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "tiers"),
    [
        # 4K: Siraya (seed 004) and Ace (seed 002) serve it; the official page lists 2K/3K.
        ("seedream-5.0-lite", ("2K", "3K", "4K")),
        ("seedream-4.5", ("2K", "4K")),
        ("seedream-4.0", ("1K", "2K", "4K")),
        ("seedream-3.0-t2i", ()),
        ("seededit-3.0-i2i", ("adaptive",)),
        ("dreamina-3.1", ("1K", "2K")),
    ],
)
def test_size_tiers_per_model(model_id, tiers):
    assert get_model(model_id).size_tiers == tiers


@pytest.mark.parametrize(
    ("model_id", "size", "expected"),
    [
        ("seedream-5.0-lite", "2K", "2K"),
        ("seedream-5.0-lite", "3k", "3K"),
        ("seedream-4.5", "2k", "2K"),
        ("seedream-4.5", "4K", "4K"),
        ("seedream-4.0", "1k", "1K"),
        ("seedream-4.0", " 2K ", "2K"),
        ("seedream-4.0", "4K", "4K"),
        ("seededit-3.0-i2i", "adaptive", "adaptive"),
        ("seededit-3.0-i2i", "ADAPTIVE", "adaptive"),
        ("dreamina-3.1", "1k", "1K"),
        ("dreamina-3.1", "2K", "2K"),
    ],
)
def test_valid_tiers_are_accepted_case_insensitively_and_normalized(model_id, size, expected):
    resolved = validate_spec(spec(model_id, size=size))
    assert resolved.size == expected


@pytest.mark.parametrize(
    ("model_id", "size"),
    [
        ("seedream-5.0-lite", "1K"),
        ("seedream-4.5", "1k"),
        ("seedream-4.5", "3K"),
        ("seedream-4.0", "3K"),
        ("seedream-3.0-t2i", "2K"),
        ("seededit-3.0-i2i", "2K"),
        ("dreamina-3.1", "4K"),
        ("seedream-4.0", "adaptive"),
    ],
)
def test_tiers_a_model_lacks_are_refused_naming_the_accepted_forms(model_id, size):
    (message,) = errors_for(model_id, size=size)["size"]
    keyword = "adaptive" if size == "adaptive" else size.upper()
    assert message.startswith(f"{NAMES[model_id]} has no {keyword} size; ")
    model = get_model(model_id)
    for tier in model.size_tiers:
        assert tier in message


def test_refused_tier_message_names_the_forms():
    (message,) = errors_for("seedream-4.5", size="1K")["size"]
    assert message == (
        "Seedream 4.5 has no 1K size; size must be a tier (2K, 4K) or WIDTHxHEIGHT "
        "such as 2048x2048."
    )


@pytest.mark.parametrize(
    ("model_id", "size", "aspect_ratio", "width", "height"),
    [
        ("seedream-5.0-lite", "", "", 2048, 2048),
        ("seedream-4.5", "", "", 2048, 2048),
        ("seedream-4.0", "", "16:9", 2848, 1600),
        ("seedream-3.0-t2i", "", "", 1024, 1024),
        ("seededit-3.0-i2i", "", "", 1024, 1024),
        # Scenario's Dreamina 3.1 defaults to 4:3 (seed 000, `aspectRatio` default).
        ("dreamina-3.1", "", "", 2304, 1728),
    ],
)
def test_empty_size_uses_the_model_default(model_id, size, aspect_ratio, width, height):
    resolved = validate_spec(spec(model_id, size=size, aspect_ratio=aspect_ratio))
    assert resolved.size == get_model(model_id).default_size
    assert (resolved.width, resolved.height) == (width, height)


def test_tier_without_aspect_ratio_defaults_to_square():
    resolved = validate_spec(spec("seedream-4.5", size="4K"))
    assert (resolved.aspect_ratio, resolved.width, resolved.height) == ("1:1", 4096, 4096)


def test_dreamina_tier_without_aspect_ratio_takes_scenarios_4_3_default():
    # Seed 000: Dreamina 3.1's `aspectRatio` defaults to 4:3 at Scenario, not 1:1.
    resolved = validate_spec(spec("dreamina-3.1", size="1K"))
    assert (resolved.aspect_ratio, resolved.width, resolved.height) == ("4:3", 1472, 1104)
    assert get_model("dreamina-3.1").as_dict()["default_aspect_ratio"] == "4:3"


def test_tier_with_aspect_ratio_resolves_to_the_table_size():
    resolved = validate_spec(spec("seedream-4.5", size="2K", aspect_ratio="21:9"))
    assert (resolved.size, resolved.aspect_ratio) == ("2K", "21:9")
    assert (resolved.width, resolved.height) == (3136, 1344)


@pytest.mark.parametrize("aspect_ratio", ["5:4", "1:2", "9:21", "square"])
def test_aspect_ratio_a_model_lacks_is_refused(aspect_ratio):
    (message,) = errors_for("seedream-4.5", size="2K", aspect_ratio=aspect_ratio)["aspect_ratio"]
    assert f'got "{aspect_ratio}"' in message
    assert "16:9" in message


def test_9_21_is_allowed_on_dreamina_only():
    resolved = validate_spec(spec("dreamina-3.1", size="2K", aspect_ratio="9:21"))
    assert (resolved.width, resolved.height) == (1296, 3024)
    assert "9:21" not in get_model("seedream-4.0").aspect_ratios


def test_seededit_adaptive_takes_no_aspect_ratio():
    (message,) = errors_for("seededit-3.0-i2i", aspect_ratio="1:1")["aspect_ratio"]
    assert "SeedEdit 3.0" in message


def test_seededit_adaptive_resolves_to_the_stand_in_size():
    resolved = validate_spec(spec("seededit-3.0-i2i"))
    assert (resolved.size, resolved.aspect_ratio) == ("adaptive", "")
    assert (resolved.width, resolved.height) == (1024, 1024)


# --- explicit sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "size", "valid"),
    [
        # 5.0-lite [3,686,400, 10,404,496]; the ceiling has no integer square, so the squares
        # either side of it.
        ("seedream-5.0-lite", "2560x1440", True),
        ("seedream-5.0-lite", "2560x1439", False),
        ("seedream-5.0-lite", "3225x3226", True),
        ("seedream-5.0-lite", "3226x3226", False),
        ("seedream-5.0-lite", "4096x4096", False),
        # 4.5 [3,686,400, 16,777,216]
        ("seedream-4.5", "2560x1440", True),
        ("seedream-4.5", "2560x1439", False),
        ("seedream-4.5", "1440x2560", True),
        ("seedream-4.5", "4096x4096", True),
        ("seedream-4.5", "4096x4097", False),
        ("seedream-4.5", "3000x1230", True),
        # 4.0 [921,600, 16,777,216]
        ("seedream-4.0", "1280x720", True),
        ("seedream-4.0", "1280x719", False),
        ("seedream-4.0", "4096x4096", True),
        ("seedream-4.0", "4097x4096", False),
        # 3.0-t2i [262,144, 4,194,304]
        ("seedream-3.0-t2i", "512x512", True),
        ("seedream-3.0-t2i", "512x511", False),
        ("seedream-3.0-t2i", "2048x2048", True),
        ("seedream-3.0-t2i", "2048x2049", False),
        # Dreamina: each side 512-3024
        ("dreamina-3.1", "512x512", True),
        ("dreamina-3.1", "3024x3024", True),
        ("dreamina-3.1", "512x3024", True),
        ("dreamina-3.1", "511x1024", False),
        ("dreamina-3.1", "1024x511", False),
        ("dreamina-3.1", "3025x1024", False),
        ("dreamina-3.1", "1024x3025", False),
    ],
)
def test_explicit_size_pixel_and_side_limits(model_id, size, valid):
    if valid:
        resolved = validate_spec(spec(model_id, size=size))
        width, height = (int(side) for side in size.split("x"))
        assert (resolved.size, resolved.aspect_ratio) == (size, "")
        assert (resolved.width, resolved.height) == (width, height)
    else:
        assert list(errors_for(model_id, size=size)) == ["size"]


def test_pixel_floor_message_names_the_rule_and_the_numbers():
    assert errors_for("seedream-4.5", size="1024x1024") == {
        "size": ["Seedream 4.5 needs at least 3,686,400 pixels; 1024x1024 has 1,048,576."]
    }


def test_pixel_ceiling_message_names_the_rule_and_the_numbers():
    assert errors_for("seedream-5.0-lite", size="4096x4096") == {
        "size": ["Seedream 5.0 Lite allows at most 10,404,496 pixels; 4096x4096 has 16,777,216."]
    }


def test_side_limit_message_for_dreamina():
    assert errors_for("dreamina-3.1", size="511x1024") == {
        "size": [
            "Dreamina 3.1 needs each side between 512 and 3,024 pixels; 511x1024 is outside that."
        ]
    }


@pytest.mark.parametrize(
    ("size", "valid"),
    [
        ("4096x256", True),  # exactly 16:1
        ("256x4096", True),  # exactly 1:16
        ("4097x256", False),
        ("256x4097", False),
    ],
)
def test_explicit_size_aspect_limits(size, valid):
    if valid:
        assert validate_spec(spec("seedream-4.0", size=size)).size == size
    else:
        (message,) = errors_for("seedream-4.0", size=size)["size"]
        assert "between 1:16 and 16:1" in message
        assert size in message


def test_16_to_1_at_the_pixel_ceiling_passes_both_limits():
    resolved = validate_spec(spec("seedream-4.5", size="16384x1024"))
    assert resolved.width * resolved.height == 16_777_216


def test_aspect_message_shows_the_ratio():
    assert errors_for("seedream-4.0", size="4097x256") == {
        "size": [
            "Seedream 4.0 needs a width-to-height ratio between 1:16 and 16:1; "
            "4097x256 is 16.004:1."
        ]
    }


@pytest.mark.parametrize("size", ["2560x1440", "2560X1440", "2560\u00d71440", " 2560 x 1440 "])
def test_explicit_size_separators_are_normalized(size):
    assert validate_spec(spec("seedream-4.5", size=size)).size == "2560x1440"


@pytest.mark.parametrize(
    ("model_id", "expected_forms"),
    [
        ("seedream-4.5", "size must be a tier (2K, 4K) or WIDTHxHEIGHT such as 2048x2048"),
        ("seedream-3.0-t2i", "size must be WIDTHxHEIGHT such as 1024x1024"),
        ("seededit-3.0-i2i", 'size must be "adaptive"'),
        ("dreamina-3.1", "size must be a tier (1K, 2K) or WIDTHxHEIGHT such as 2048x2048"),
    ],
)
@pytest.mark.parametrize("size", ["big", "2560x", "x1440", "0x1024", "2560*1440", "-5x10", "2.5K"])
def test_malformed_sizes_name_the_forms_the_model_accepts(model_id, expected_forms, size):
    (message,) = errors_for(model_id, size=size)["size"]
    assert message == f'{NAMES[model_id]}: {expected_forms}; got "{size.strip()}".'


def test_seededit_refuses_explicit_sizes():
    (message,) = errors_for("seededit-3.0-i2i", size="1024x1024")["size"]
    assert message == 'SeedEdit 3.0 takes no explicit size; size must be "adaptive".'


def test_explicit_size_with_aspect_ratio_is_an_error():
    errors = errors_for("seedream-4.5", size="2560x1440", aspect_ratio="16:9")
    assert errors == {
        "aspect_ratio": [
            "An aspect ratio goes with a size tier only; 2560x1440 already fixes the shape."
        ]
    }


def test_aspect_ratio_on_a_model_without_tiers_is_an_error():
    (message,) = errors_for("seedream-3.0-t2i", aspect_ratio="16:9")["aspect_ratio"]
    assert "Seedream 3.0 has no size tiers" in message


# --- reference images and output counts -------------------------------------------------------


@pytest.mark.parametrize("count", [0, 2])
def test_seededit_needs_exactly_one_reference(count):
    assert errors_for("seededit-3.0-i2i", reference_count=count) == {
        "reference_count": [f"SeedEdit 3.0 needs exactly 1 reference image; got {count}."]
    }


def test_seededit_with_one_reference_passes():
    assert validate_spec(spec("seededit-3.0-i2i", reference_count=1)).reference_count == 1


@pytest.mark.parametrize("model_id", ["seedream-3.0-t2i", "dreamina-3.1"])
def test_text_only_models_take_no_references(model_id):
    (message,) = errors_for(model_id, reference_count=1)["reference_count"]
    assert message == (
        f"{NAMES[model_id]} is text-to-image only and takes no reference images; got 1."
    )


@pytest.mark.parametrize("model_id", GROUP_MODELS)
@pytest.mark.parametrize(("count", "valid"), [(0, True), (1, True), (14, True), (15, False)])
def test_group_models_take_up_to_14_references(model_id, count, valid):
    if valid:
        assert validate_spec(spec(model_id, reference_count=count)).reference_count == count
    else:
        assert errors_for(model_id, reference_count=count) == {
            "reference_count": [f"{NAMES[model_id]} takes at most 14 reference images; got 15."]
        }


def test_negative_reference_count_is_refused():
    assert "reference_count" in errors_for("seedream-4.0", reference_count=-1)


@pytest.mark.parametrize(("references", "outputs"), [(0, 15), (14, 1), (10, 5), (7, 8)])
def test_references_plus_outputs_of_15_pass(references, outputs):
    resolved = validate_spec(spec("seedream-4.5", reference_count=references, num_images=outputs))
    assert resolved.reference_count + resolved.num_images == 15


@pytest.mark.parametrize(("references", "outputs"), [(14, 2), (10, 6), (1, 15)])
def test_references_plus_outputs_over_15_fail_stating_both_numbers(references, outputs):
    (message,) = errors_for("seedream-4.5", reference_count=references, num_images=outputs)[
        "num_images"
    ]
    total = references + outputs
    assert f"{references} references + {outputs} outputs = {total}" in message
    assert "at most 15 images" in message


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_num_images_range(model_id):
    model = get_model(model_id)
    assert validate_spec(spec(model_id, num_images=model.max_outputs)).num_images == (
        model.max_outputs
    )
    for bad in (0, model.max_outputs + 1):
        (message,) = errors_for(model_id, num_images=bad)["num_images"]
        assert message.startswith(f"{NAMES[model_id]} makes ")
        assert message.endswith(f"got {bad}.")


@pytest.mark.parametrize(
    ("model_id", "max_outputs"),
    [("seedream-5.0-lite", 15), ("seedream-4.5", 15), ("seedream-4.0", 15)]
    + [(model_id, 1) for model_id in ("seedream-3.0-t2i", "seededit-3.0-i2i", "dreamina-3.1")],
)
def test_max_outputs_per_model(model_id, max_outputs):
    assert get_model(model_id).max_outputs == max_outputs


@pytest.mark.parametrize("value", [True, 1.5, "2"])
def test_num_images_must_be_a_whole_number(value):
    assert "num_images" in errors_for("seedream-4.0", num_images=value)


# --- seed -------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", GROUP_MODELS)
def test_seed_on_a_model_without_one_is_an_error_naming_the_models_that_take_one(model_id):
    assert errors_for(model_id, seed=42) == {
        "seed": [
            f"{NAMES[model_id]} does not take a seed; only Seedream 3.0, SeedEdit 3.0 and "
            "Dreamina 3.1 do."
        ]
    }


@pytest.mark.parametrize("model_id", SEED_MODELS)
@pytest.mark.parametrize(("seed", "expected"), [(0, 0), (42, 42), (2_147_483_647, 2_147_483_647)])
def test_seed_is_kept_on_models_that_take_one(model_id, seed, expected):
    assert validate_spec(spec(model_id, seed=seed)).seed == expected


@pytest.mark.parametrize("model_id", SEED_MODELS)
def test_seed_minus_one_normalizes_to_random(model_id):
    assert validate_spec(spec(model_id, seed=-1)).seed is None


@pytest.mark.parametrize("seed", [-2, 2_147_483_648, True, 1.0])
def test_seed_out_of_range_or_not_an_integer_is_refused(seed):
    (message,) = errors_for("seedream-3.0-t2i", seed=seed)["seed"]
    assert "between -1 (random) and 2,147,483,647" in message


def test_seed_none_is_fine_everywhere():
    for model_id in MODEL_IDS:
        assert validate_spec(spec(model_id)).seed is None


# --- guidance scale ---------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", [*GROUP_MODELS, "dreamina-3.1"])
def test_guidance_on_a_model_without_it_is_an_error(model_id):
    assert errors_for(model_id, guidance_scale=5.0) == {
        "guidance_scale": [
            f"{NAMES[model_id]} does not take a guidance scale; only Seedream 3.0 and "
            "SeedEdit 3.0 do."
        ]
    }


@pytest.mark.parametrize("model_id", GUIDANCE_MODELS)
@pytest.mark.parametrize("value", [1, 1.0, 2.5, 5.5, 10, 10.0])
def test_guidance_in_range_passes_as_a_float(model_id, value):
    resolved = validate_spec(spec(model_id, guidance_scale=value))
    assert resolved.guidance_scale == float(value)
    assert isinstance(resolved.guidance_scale, float)


@pytest.mark.parametrize("model_id", GUIDANCE_MODELS)
@pytest.mark.parametrize("value", [0.5, 0.999, 10.5, 10.001, -1, math.nan, math.inf, True])
def test_guidance_out_of_range_fails(model_id, value):
    (message,) = errors_for(model_id, guidance_scale=value)["guidance_scale"]
    assert message.startswith("guidance_scale must be between 1 and 10; got ")


def test_guidance_range_is_published():
    assert get_model("seedream-3.0-t2i").guidance_range == (1.0, 10.0)
    assert get_model("seedream-4.5").guidance_range is None


# --- output format ----------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", MODEL_IDS)
@pytest.mark.parametrize("requested", ["", "jpeg", "jpg", "JPEG", " Jpg "])
def test_jpeg_everywhere_with_jpg_alias(model_id, requested):
    assert validate_spec(spec(model_id, output_format=requested)).output_format == "jpeg"


@pytest.mark.parametrize("requested", ["png", "PNG"])
def test_png_on_5_0_lite_passes(requested):
    assert validate_spec(spec("seedream-5.0-lite", output_format=requested)).output_format == "png"


@pytest.mark.parametrize("model_id", [m for m in MODEL_IDS if m != "seedream-5.0-lite"])
def test_png_elsewhere_fails(model_id):
    assert errors_for(model_id, output_format="png") == {
        "output_format": [f'{NAMES[model_id]} outputs jpeg only; got "png".']
    }


def test_unknown_output_format_fails():
    (message,) = errors_for("seedream-5.0-lite", output_format="webp")["output_format"]
    assert message == 'output_format must be jpeg or png (jpg means jpeg); got "webp".'


# --- prompt, model, collecting errors ---------------------------------------------------------


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
def test_blank_prompt_is_refused(prompt):
    assert errors_for("seedream-4.0", prompt=prompt) == {"prompt": ["Prompt is required."]}


def test_prompt_length_limit():
    assert MAX_PROMPT_LENGTH == 4000
    assert len(validate_spec(spec("seedream-4.0", prompt="a" * 4000)).prompt) == 4000
    assert errors_for("seedream-4.0", prompt="a" * 4001) == {
        "prompt": ["Prompt must be at most 4,000 characters; got 4,001."]
    }


def test_prompt_is_stripped():
    assert validate_spec(spec("seedream-4.0", prompt="  a cat \n")).prompt == "a cat"


def test_unknown_model_is_reported_with_the_prompt_error():
    errors = errors_for("midjourney", prompt="")
    assert errors["prompt"] == ["Prompt is required."]
    assert "seedream-4.5" in errors["model"][0]


def test_every_problem_is_reported_at_once():
    errors = errors_for(
        "seedream-4.0",
        prompt=" ",
        size="100x100",
        num_images=16,
        reference_count=20,
        seed=1,
        guidance_scale=3.0,
        output_format="png",
    )
    assert set(errors) == {
        "prompt",
        "size",
        "num_images",
        "reference_count",
        "seed",
        "guidance_scale",
        "output_format",
    }


def test_spec_error_is_a_value_error_whose_text_joins_the_messages():
    with pytest.raises(ValueError, match="needs at least 3,686,400 pixels"):
        validate_spec(spec("seedream-4.5", size="1024x1024"))


# --- resolved spec ----------------------------------------------------------------------------


def test_resolved_spec_as_params_is_json_friendly_and_complete():
    resolved = validate_spec(spec("seedream-3.0-t2i", size="1328x1328", seed=7, guidance_scale=2.5))
    params = json.loads(json.dumps(resolved.as_params()))
    assert params == {
        "model": "seedream-3.0-t2i",
        "prompt": "a lighthouse at dusk",
        "size": "1328x1328",
        "aspect_ratio": "",
        "width": 1328,
        "height": 1328,
        "num_images": 1,
        "reference_count": 0,
        "seed": 7,
        "guidance_scale": 2.5,
        "output_format": "jpeg",
    }
    assert set(params) == {field.name for field in dataclasses.fields(ResolvedSpec)}


# --- tier dimensions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "tier", "aspect_ratio", "expected"),
    [
        ("seedream-4.0", "1K", "16:9", (1280, 720)),
        ("seedream-4.0", "1K", "4:3", (1152, 864)),
        ("seedream-4.0", "2K", "1:1", (2048, 2048)),
        ("seedream-4.5", "2K", "1:1", (2048, 2048)),
        ("seedream-4.5", "4K", "21:9", (6240, 2656)),
        ("seedream-4.5", "4k", "9:16", (3040, 5504)),
        ("seedream-5.0-lite", "3K", "16:9", (4096, 2304)),
        ("seedream-5.0-lite", "2K", "", (2048, 2048)),
        ("dreamina-3.1", "1K", "1:1", (1328, 1328)),
        ("dreamina-3.1", "2K", "21:9", (3024, 1296)),
        ("seededit-3.0-i2i", "adaptive", "", (1024, 1024)),
    ],
)
def test_tier_dimensions_known_values(model_id, tier, aspect_ratio, expected):
    assert tier_dimensions(model_id, tier, aspect_ratio) == expected


@pytest.mark.parametrize(
    ("model_id", "tier", "aspect_ratio", "field"),
    [
        ("seedream-4.5", "1K", "1:1", "size"),
        ("seedream-3.0-t2i", "1K", "1:1", "size"),
        ("seedream-4.0", "huge", "1:1", "size"),
        ("seedream-4.0", "2K", "9:21", "aspect_ratio"),
        ("nope", "2K", "1:1", "model"),
    ],
)
def test_tier_dimensions_refuses_what_the_model_lacks(model_id, tier, aspect_ratio, field):
    with pytest.raises(SpecError) as excinfo:
        tier_dimensions(model_id, tier, aspect_ratio)
    assert list(excinfo.value.errors) == [field]


@pytest.mark.parametrize("model", list_models(), ids=lambda model: model.id)
def test_every_tier_size_is_itself_a_valid_explicit_size_for_the_model(model):
    """The tier table and the explicit-size limits must agree: each cell passes validation.

    Except 5.0 lite's 4K, which only resellers serve: explicit sizes keep the official range."""
    for tier in model.size_tiers:
        if (model.id, tier) == ("seedream-5.0-lite", "4K"):
            continue
        for aspect_ratio in model.aspect_ratios:
            width, height = tier_dimensions(model.id, tier, aspect_ratio)
            resolved = validate_spec(spec(model.id, size=f"{width}x{height}"))
            assert (resolved.width, resolved.height) == (width, height)


@pytest.mark.parametrize(
    ("table", "aspect_ratios"),
    [(ARK_TIER_SIZES, COMMON_ASPECT_RATIOS), (DREAMINA_TIER_SIZES, ASPECT_RATIOS)],
)
def test_tier_table_cells_match_their_ratio_names(table, aspect_ratios):
    for sizes in table.values():
        assert tuple(sizes) == aspect_ratios
        for aspect_ratio, (width, height) in sizes.items():
            ratio_width, ratio_height = (int(part) for part in aspect_ratio.split(":"))
            assert width / height == pytest.approx(ratio_width / ratio_height, rel=0.05)
