"""The form of ``/compare/new/``: the compose form's common settings, with several models
chosen instead of one (no seed or guidance: few models take them, and a comparison runs the
same request on each)."""

from typing import Any

from django import forms

from generations.catalog import list_models
from generations.pages.forms import ComposeForm, choices_set

# Catalog field names -> this form's, so a named model's refusal lands next to the right control.
COMPARE_FIELD_TO_FORM_FIELD = {"reference_count": "references", "team": "charge_to"}


class CompareForm(ComposeForm):
    models = forms.MultipleChoiceField(
        label="Models to compare",
        widget=forms.CheckboxSelectMultiple,
        help_text="Each model makes its own generation, held and charged as usual.",
        error_messages={"required": "Choose at least two models to compare."},
    )

    def __init__(self, *args: Any, model_ids: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, model_ids=model_ids, **kwargs)
        for name in ("model", "seed", "guidance_scale", "carried_references"):
            del self.fields[name]
        allowed = set(model_ids) if model_ids is not None else None
        choices_set(
            self.fields["models"],
            [
                (model.id, model.label)
                for model in list_models()
                if allowed is None or model.id in allowed
            ],
        )
        self.fields["size"].widget.attrs.pop("list", None)
        self.fields["size"].help_text = (
            "A tier such as 2K, or WIDTHxHEIGHT, that every chosen model accepts; empty uses "
            "each model's default."
        )
