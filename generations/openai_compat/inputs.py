"""What the OpenAI Images API accepts (plus the Seedream extensions of the Ark dialect)."""

from rest_framework import serializers


class ImagesInput(serializers.Serializer):
    model = serializers.CharField(required=False, default="seedream-4.0")
    prompt = serializers.CharField(max_length=4000)
    n = serializers.IntegerField(required=False, default=1, min_value=1, max_value=15)
    size = serializers.CharField(required=False, default="auto")
    response_format = serializers.ChoiceField(
        choices=["url", "b64_json"], required=False, default="url"
    )
    user = serializers.CharField(required=False, allow_blank=True, default="")
    seed = serializers.IntegerField(required=False, allow_null=True, default=None)
    guidance_scale = serializers.FloatField(required=False, allow_null=True, default=None)
    aspect_ratio = serializers.CharField(required=False, default="")
    output_format = serializers.CharField(required=False, default="")
    watermark = serializers.BooleanField(required=False, default=False)
    sequential_image_generation = serializers.ChoiceField(
        choices=["auto", "disabled"], required=False, default="auto"
    )


class ImagesGenerationsInput(ImagesInput):
    image = serializers.JSONField(required=False, default=None)
