"""Read-only sections of the Generation admin page: everything that followed from a request.

Its reference and output images (served by ``GenerationAdmin.file_view``), provider attempts,
ledger entries and webhook deliveries.
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import CreditEntry
from generations.models import OutputImage, ProviderAttempt, ReferenceImage, WebhookDelivery
from studio_core.read_only_admin import ReadOnlyAdminMixin


def _file_link(image: OutputImage | ReferenceImage, kind: str, text: str) -> str:
    url = reverse("admin:generations_generation_file", args=[image.generation_id, kind, image.pk])
    return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, text)


class OutputImageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OutputImage
    readonly_fields = (
        "preview",
        "index",
        "width",
        "height",
        "format",
        "bytes",
        "sha256",
        "provider_url",
    )
    fields = readonly_fields
    extra = 0

    @admin.display(description="Image")
    def preview(self, image: OutputImage) -> str:
        url = reverse(
            "admin:generations_generation_file", args=[image.generation_id, "thumbnail", image.pk]
        )
        thumbnail = format_html('<img src="{}" alt="" height="64">', url)
        return _file_link(image, "output", thumbnail)


class ReferenceImageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ReferenceImage
    readonly_fields = (
        "file_link",
        "position",
        "width",
        "height",
        "format",
        "bytes",
        "sha256",
        "source_url",
    )
    fields = readonly_fields
    extra = 0

    @admin.display(description="File")
    def file_link(self, image: ReferenceImage) -> str:
        return _file_link(image, "reference", "open")


class ProviderAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ProviderAttempt
    readonly_fields = (
        "account",
        "provider_kind",
        "outcome",
        "http_status",
        "provider_request_id",
        "images_returned",
        "usage",
        "latency_ms",
        "error_code",
        "error_message",
        "started_at",
        "finished_at",
    )
    fields = readonly_fields
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProviderAttempt]:
        return super().get_queryset(request).select_related("account")


class CreditEntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The generation's ledger: its hold, and the capture and release that settled it."""

    model = CreditEntry
    fk_name = "generation"
    readonly_fields = (
        "created_at",
        "kind",
        "amount",
        "held_change",
        "available_after",
        "held_after",
    )
    fields = readonly_fields
    ordering = ["id"]
    extra = 0
    verbose_name_plural = "ledger entries"


class WebhookDeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookDelivery
    readonly_fields = (
        "event",
        "attempt",
        "status_code",
        "delivered",
        "error",
        "duration_ms",
        "created_at",
    )
    fields = readonly_fields
    extra = 0
