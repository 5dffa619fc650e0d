"""Serializers and fields shared by several views: a generation is shown the same way by
create, list, retrieve, cancel and the event stream."""

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from generations.models import Generation, OutputImage
from generations.security.signed_links import absolute_url, output_url, thumbnail_url
from generations.selectors.generations import generation_is_demo


class OutputImageSerializer(serializers.Serializer):
    """One stored image; the links are signed and expire (``settings.MEDIA_LINK_TTL_S``).

    Needs the request answered in its context (``{"request": request}``, also through a
    ``GenerationSerializer``): the links are on the host the client reached, not a configured one.
    """

    index = serializers.IntegerField(help_text="Position in the generated group, from 0.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    bytes = serializers.IntegerField(help_text="File size in bytes.")
    format = serializers.CharField(help_text="jpeg or png.")
    url = serializers.SerializerMethodField(help_text="Signed, expiring link to the image.")
    thumbnail_url = serializers.SerializerMethodField(
        help_text="Signed, expiring link to a JPEG thumbnail."
    )

    @extend_schema_field(serializers.URLField())
    def get_url(self, output: OutputImage) -> str:
        return absolute_url(output_url(output), request=self.context["request"])

    @extend_schema_field(serializers.URLField())
    def get_thumbnail_url(self, output: OutputImage) -> str:
        return absolute_url(thumbnail_url(output), request=self.context["request"])


class AttemptSerializer(serializers.Serializer):
    """One call to a provider; which account served it stays internal."""

    provider_kind = serializers.CharField(help_text="e.g. ark, replicate, local.")
    outcome = serializers.CharField(help_text="running, succeeded, partial or failed.")
    error_code = serializers.CharField()
    latency_ms = serializers.IntegerField(allow_null=True)
    images = serializers.IntegerField(source="images_returned")
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ImageErrorSerializer(serializers.Serializer):
    """An image of the group that could not be delivered (and so was not charged)."""

    index = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()


class ParamsSerializer(serializers.Serializer):
    """The validated, normalized request as the catalog resolved it."""

    size = serializers.CharField()
    aspect_ratio = serializers.CharField(allow_blank=True)
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    reference_count = serializers.IntegerField()
    guidance_scale = serializers.FloatField(allow_null=True)
    output_format = serializers.CharField()

    def to_representation(self, instance: Any) -> Any:
        # Rows written before a key existed lack it; answer null rather than fail.
        return {
            name: instance.get(name) if isinstance(instance, dict) else None for name in self.fields
        }


class GenerationSerializer(serializers.Serializer):
    """A generation with its outputs, cost and attempts; needs ``{"request": request}`` as its
    context, like ``OutputImageSerializer``.

    Reads ``outputs`` and ``attempts`` through ``.all()``, so a list must prefetch both
    (``generations.selectors.generations``) to stay at a fixed number of queries.
    """

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Generation.Status.choices)
    waiting_reason = serializers.CharField(
        help_text='Why a queued generation has not started yet ("waiting for a worker"); empty '
        "once it has."
    )
    model = serializers.CharField()
    prompt = serializers.CharField()
    params = ParamsSerializer()
    num_images = serializers.IntegerField(help_text="Images asked for (at most).")
    seed = serializers.IntegerField(
        source="seed_requested", allow_null=True, help_text="The seed asked for, if any."
    )
    seed_used = serializers.IntegerField(
        allow_null=True, help_text="The seed the provider reports it honoured, if any."
    )
    visibility = serializers.ChoiceField(choices=Generation.Visibility.choices)
    owner = serializers.CharField(source="owner.username")
    team = serializers.SerializerMethodField(
        help_text="The slug of the team whose wallet pays for it; null: the owner's own wallet."
    )
    shared_team = serializers.SerializerMethodField(
        help_text="The slug of the team that sees it with visibility team (kept while private: "
        "sharing it later shares it there); null: everyone here."
    )
    price_per_image = serializers.IntegerField(help_text="Credits per delivered image.")
    credits_held = serializers.IntegerField(help_text="Credits reserved when it was accepted.")
    credits_charged = serializers.IntegerField(help_text="Credits paid for delivered images.")
    error_code = serializers.CharField(help_text="Empty unless it failed or was canceled.")
    error_message = serializers.CharField()
    image_errors = ImageErrorSerializer(many=True)
    outputs = OutputImageSerializer(many=True, source="outputs.all")
    attempts = AttemptSerializer(many=True, source="attempts.all")
    demo = serializers.SerializerMethodField(
        help_text="True when its images came from the built-in demo renderer (placeholders, "
        "not Seedream output)."
    )
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()

    @extend_schema_field(serializers.BooleanField())
    def get_demo(self, generation: Generation) -> bool:
        return generation_is_demo(generation)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_team(self, generation: Generation) -> str | None:
        team = generation.wallet.team if generation.wallet.team_id is not None else None
        return team.slug if team is not None else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_shared_team(self, generation: Generation) -> str | None:
        shared_team = generation.shared_team if generation.shared_team_id is not None else None
        return shared_team.slug if shared_team is not None else None


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "object",
                "properties": {"upload_id": {"type": "string", "format": "uuid"}},
                "required": ["upload_id"],
                "additionalProperties": False,
            },
            {
                "type": "string",
                "pattern": r"\S",
                "description": "An https:// URL of an image, or a data: URI "
                "(data:image/png;base64,...).",
            },
        ]
    }
)
class ReferenceField(serializers.Field):
    """A reference image as sent in JSON: ``{"upload_id": ...}``, an https URL or a data URI.

    Only the shape is checked here; what each one points at is checked when it is read
    (``generations.api.references``), so every such problem names its reference's index.
    """

    default_error_messages = {
        # Doubled braces: DRF formats these messages with str.format.
        "invalid": 'Send {{"upload_id": "<id>"}}, an https:// URL or a data: URI.',
    }

    def to_internal_value(self, data: Any) -> str | dict[str, str]:
        if isinstance(data, str) and data.strip():
            return data.strip()
        if (
            isinstance(data, dict)
            and set(data) == {"upload_id"}
            and isinstance(data["upload_id"], str)
        ):
            return {"upload_id": data["upload_id"]}
        self.fail("invalid")
        raise AssertionError("unreachable: fail() raises")

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"type": "array", "items": {"type": "string", "format": "binary"}})
class MultipartReferencesField(serializers.ListField):
    """``references`` of a multipart request: the text parts (upload ids, URLs) are read here;
    the file parts by the view, from ``request.FILES``."""

    child = ReferenceField()


class TextField(serializers.CharField):
    """A string field that takes only strings: DRF's ``CharField`` turns a JSON number or
    boolean into text (``{"name": 0}`` becomes "0"), which the schema says is not a string."""

    default_error_messages = {"not_text": "Send text (a JSON string), not {kind}."}
    KINDS = {bool: "true or false", int: "a number", float: "a number", list: "a list"}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_text", kind=self.KINDS.get(type(data), "an object"))
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.STR)
class DateOrDateTimeField(serializers.Field):
    """An ISO 8601 date (midnight in the site's time zone) or date-time (naive = site zone)."""

    default_error_messages = {
        "invalid": "Use an ISO 8601 date (2026-01-31) or date-time (2026-01-31T12:00:00Z).",
    }

    def to_internal_value(self, data: Any) -> datetime:
        text = data if isinstance(data, str) else ""
        try:
            moment = parse_datetime(text)
            if moment is None:
                day = parse_date(text)
                if day is None:
                    self.fail("invalid")
                moment = datetime.combine(day, datetime.min.time())
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
        except (ValueError, OverflowError):
            self.fail("invalid")
        # Years at the ends of the calendar overflow when the database converts time zones.
        if not 2 <= moment.year <= 9998:
            self.fail("invalid")
        return moment

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()
