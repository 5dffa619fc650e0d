from typing import Any

from django import forms
from django.conf import settings

from .catalog import ASPECT_RATIOS, GenerationSpec, list_models
from .models import Generation

# Catalog field names -> form field names, so catalog errors land next to the right control.
SPEC_FIELD_TO_FORM_FIELD = {"reference_count": "references"}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        cleaned = [super(MultipleImageField, self).clean(item, initial) for item in files]
        limit = settings.REFERENCE_MAX_BYTES
        for item in cleaned:
            if item.size > limit:
                raise forms.ValidationError(
                    f"{item.name} is {item.size / (1024 * 1024):.1f} MB; a reference image may be "
                    f"at most {limit // (1024 * 1024)} MB."
                )
        return cleaned


class ComposeForm(forms.Form):
    model = forms.ChoiceField(label="Model")
    prompt = forms.CharField(
        label="Prompt",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Describe the image…"}),
    )
    size = forms.CharField(
        label="Size",
        required=False,
        help_text="A tier such as 2K, or WIDTHxHEIGHT. Empty uses the model's default.",
        widget=forms.TextInput(attrs={"list": "size-options", "autocomplete": "off"}),
    )
    aspect_ratio = forms.ChoiceField(label="Aspect ratio", required=False)
    num_images = forms.IntegerField(label="Images", min_value=1, max_value=15, initial=1)
    seed = forms.IntegerField(label="Seed", required=False)
    guidance_scale = forms.FloatField(label="Guidance scale", required=False)
    references = MultipleImageField(label="Reference images", required=False)
    visibility = forms.ChoiceField(
        label="Visible to", choices=Generation.Visibility.choices, initial="private"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [(model.id, model.label) for model in list_models()]
        self.fields["aspect_ratio"].choices = [("", "Default")] + [
            (ratio, ratio) for ratio in ASPECT_RATIOS
        ]

    def to_spec(self) -> GenerationSpec:
        data = self.cleaned_data
        return GenerationSpec(
            model=data["model"],
            prompt=data["prompt"],
            size=data.get("size") or "",
            aspect_ratio=data.get("aspect_ratio") or "",
            num_images=data["num_images"],
            seed=data.get("seed"),
            guidance_scale=data.get("guidance_scale"),
        )

    def add_spec_errors(self, errors: dict[str, list[str]]) -> None:
        for spec_field, messages in errors.items():
            field_name = SPEC_FIELD_TO_FORM_FIELD.get(spec_field, spec_field)
            for message in messages:
                self.add_error(field_name if field_name in self.fields else None, message)
