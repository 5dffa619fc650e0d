"""Edits keep the reference's shape: a request with reference images and no aspect ratio goes
out with each provider's own "match the input" option, and its emulator takes it.

Replicate: `aspect_ratio` defaults to `match_input_image` (seed 001). Scenario: `aspectRatio`
`auto` on Seedream 4.0 / 4.5 Edit ("'Auto' preserves the original aspect ratio") and
`match_input_image` on Seedream 5.0 Lite (seed 000). fal: `auto_2K` / `auto_4K` (§7.2).
"""

from typing import Any

import pytest

from generations.catalog import GenerationSpec, validate_spec
from generations.providers import (
    ProviderRequest,
    ProviderUsage,
    ReferenceInput,
    get_adapter_class,
)
from generations.providers.jobs import JobAdapter
from tests.emulators.base import render_test_image
from tests.emulators.fal import FalEmulator
from tests.emulators.replicate import ReplicateEmulator
from tests.emulators.scenario import ScenarioEmulator
from tests.providers.support import catalog_request, make_adapter

PROMPT = "the same street at night"
# A 16:9 photo: what the edit must not turn square.
REFERENCE = ReferenceInput(
    content=render_test_image(width=160, height=90, fmt="png", seed=1), url=None, mime="image/png"
)


def edit_request(model: str, *, size: str = "2K", aspect_ratio: str = "") -> ProviderRequest:
    """The provider request for an edit, resolved by the catalog as a generation is."""
    spec = GenerationSpec(
        model=model, prompt=PROMPT, size=size, aspect_ratio=aspect_ratio, reference_count=1
    )
    return catalog_request(spec, references=(REFERENCE,))


def test_the_catalog_leaves_an_edit_without_aspect_ratio_to_the_reference() -> None:
    assert edit_request("seedream-4.0").aspect_ratio == ""
    assert edit_request("seedream-4.0", aspect_ratio="16:9").aspect_ratio == "16:9"
    text_only = validate_spec(GenerationSpec(model="seedream-4.0", prompt=PROMPT, size="2K"))
    assert text_only.aspect_ratio == "1:1"


CASES: list[tuple[str, Any, str, str, Any]] = [
    ("replicate", ReplicateEmulator, "seedream-4.0", "aspect_ratio", "match_input_image"),
    ("replicate", ReplicateEmulator, "seedream-5.0-lite", "aspect_ratio", "match_input_image"),
    ("scenario", ScenarioEmulator, "seedream-4.0", "aspectRatio", "auto"),
    ("scenario", ScenarioEmulator, "seedream-4.5", "aspectRatio", "auto"),
    ("scenario", ScenarioEmulator, "seedream-5.0-lite", "aspectRatio", "match_input_image"),
    ("fal", FalEmulator, "seedream-4.0", "image_size", "auto_2K"),
    ("fal", FalEmulator, "seedream-4.5", "image_size", "auto_2K"),
]


@pytest.mark.parametrize(("kind", "emulator_class", "model", "field", "value"), CASES)
def test_an_edit_asks_the_provider_to_match_the_reference(
    kind: str, emulator_class: Any, model: str, field: str, value: str
) -> None:
    emulator = emulator_class()
    adapter = make_adapter(get_adapter_class(kind), emulator, api_key=emulator.api_key)
    assert isinstance(adapter, JobAdapter)

    outcomes = list(adapter.generate(edit_request(model)))

    submits = [call for call in emulator.requests if call.method == "POST" and call.body]
    body = submits[-1].body
    sent = body.get("input", body)  # Replicate nests the model's input
    assert sent[field] == value
    assert isinstance(outcomes[-1], ProviderUsage)  # the emulator, strict like the API, took it
