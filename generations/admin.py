from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Generation, OutputImage, ProviderAccount, ProviderAttempt, ReferenceImage


class ReadOnlyAdminMixin:
    """Records of what happened: staff read them, nobody edits them in the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OutputImageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OutputImage
    fields = ["index", "file", "width", "height", "format", "bytes", "sha256"]
    readonly_fields = fields
    extra = 0


class ReferenceImageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ReferenceImage
    fields = ["position", "file", "width", "height", "format", "bytes", "sha256"]
    readonly_fields = fields
    extra = 0


class ProviderAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ProviderAttempt
    fields = [
        "account",
        "provider_kind",
        "outcome",
        "http_status",
        "provider_request_id",
        "images_returned",
        "latency_ms",
        "error_code",
        "error_message",
        "usage",
        "started_at",
    ]
    readonly_fields = fields
    extra = 0


@admin.register(Generation)
class GenerationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "owner", "model", "status", "num_images", "credits_charged"]
    list_filter = ["status", "model", "visibility", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["prompt", "id"]
    date_hierarchy = "created_at"
    inlines = [ReferenceImageInline, OutputImageInline, ProviderAttemptInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Generation._meta.fields]


@admin.register(ProviderAttempt)
class ProviderAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["started_at", "generation", "provider_kind", "outcome", "latency_ms"]
    list_filter = ["provider_kind", "outcome"]
    list_select_related = ["generation"]
    search_fields = ["provider_request_id"]


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    list_display = ["label", "kind", "enabled", "priority"]
    list_filter = ["kind", "enabled"]
