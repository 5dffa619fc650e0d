"""What the OpenAI Images API accepts (plus the Seedream extensions of the Ark dialect)."""

from typing import Any

from rest_framework import serializers

from generations.api.serializers import ReferenceField, TextField
from generations.catalog import MAX_REFERENCE_IMAGES


class ImageReferencesField(serializers.Field):
    """``image`` of a generation call: one reference or a list of them, each as the native
    API's ``references`` take it (an https URL, a data URI or ``{"upload_id": …}``)."""

    default_error_messages = {
        "invalid": "Send image as a URL or data URI, or a list of them (at most {limit}).",
    }

    def to_internal_value(self, data: Any) -> list[str | dict[str, str]]:
        items = [data] if isinstance(data, str | dict) else data
        if not isinstance(items, list) or len(items) > MAX_REFERENCE_IMAGES:
            self.fail("invalid", limit=MAX_REFERENCE_IMAGES)
        child = ReferenceField()
        references = []
        for position, item in enumerate(items):
            try:
                references.append(child.to_internal_value(item))
            except serializers.ValidationError as error:
                raise serializers.ValidationError(
                    [f"image[{position}]: {message}" for message in error.detail]
                ) from error
        return references

    def to_representation(self, value: Any) -> Any:
        return value


class ImagesInput(serializers.Serializer):
    model = TextField(required=False, default="seedream-4.0")
    prompt = TextField(max_length=4000)
    n = serializers.IntegerField(required=False, default=1, min_value=1, max_value=15)
    size = TextField(required=False, allow_blank=True, default="auto")
    response_format = serializers.ChoiceField(
        choices=["url", "b64_json"], required=False, default="url"
    )
    user = TextField(required=False, allow_blank=True, default="")
    seed = serializers.IntegerField(required=False, allow_null=True, default=None)
    guidance_scale = serializers.FloatField(required=False, allow_null=True, default=None)
    aspect_ratio = TextField(required=False, allow_blank=True, default="")
    output_format = TextField(required=False, allow_blank=True, default="")
    watermark = serializers.BooleanField(required=False, default=False)
    sequential_image_generation = serializers.ChoiceField(
        choices=["auto", "disabled"], required=False, default="auto"
    )


class ImagesGenerationsInput(ImagesInput):
    image = ImageReferencesField(required=False, allow_null=True, default=list)
