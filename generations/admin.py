from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from .models import Generation, OutputImage, ProviderAccount, ProviderAttempt, ReferenceImage
from .services.provider_accounts import (
    EDITABLE_FIELDS,
    ProviderAccountInput,
    provider_account_create,
    provider_account_set_enabled,
    provider_account_set_key,
    provider_account_update,
)


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


class ProviderAccountForm(forms.ModelForm):
    """The stored key is never shown back; typing a new one replaces it."""

    new_api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the stored key. The key is encrypted and never shown.",
    )

    class Meta:
        model = ProviderAccount
        fields = [
            "kind",
            "label",
            "base_url",
            "priority",
            "models_served",
            "model_ids",
            "options",
            "connect_timeout_s",
            "read_timeout_s",
        ]


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    form = ProviderAccountForm
    list_display = ["label", "kind", "enabled", "priority", "disabled_reason", "last_success_at"]
    list_filter = ["kind", "enabled"]
    readonly_fields = ["enabled", "disabled_reason", "consecutive_auth_failures"]
    actions = ["enable_accounts", "disable_accounts"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # attempts keep pointing at accounts; disable instead

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "kind"] if obj else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        ip_address = request.META.get("REMOTE_ADDR")
        api_key = form.cleaned_data.get("new_api_key", "")
        if not change:
            created = provider_account_create(
                data=ProviderAccountInput(
                    kind=obj.kind,
                    label=obj.label,
                    base_url=obj.base_url,
                    api_key=api_key,
                    models=obj.models_served,
                    model_ids=obj.model_ids,
                    priority=obj.priority,
                    options=obj.options,
                    connect_timeout_s=obj.connect_timeout_s,
                    read_timeout_s=obj.read_timeout_s,
                ),
                actor=request.user,
                ip_address=ip_address,
            )
            obj.pk = created.pk
            return
        provider_account_update(
            account=obj,
            changes={
                name: form.cleaned_data[name]
                for name in EDITABLE_FIELDS
                if name in form.changed_data
            },
            actor=request.user,
            ip_address=ip_address,
        )
        if api_key:
            provider_account_set_key(
                account=obj, api_key=api_key, actor=request.user, ip_address=ip_address
            )

    @admin.action(description="Enable selected accounts")
    def enable_accounts(self, request: HttpRequest, queryset: Any) -> None:
        for account in queryset:
            provider_account_set_enabled(
                account=account,
                enabled=True,
                actor=request.user,
                ip_address=request.META.get("REMOTE_ADDR"),
            )

    @admin.action(description="Disable selected accounts")
    def disable_accounts(self, request: HttpRequest, queryset: Any) -> None:
        for account in queryset:
            provider_account_set_enabled(
                account=account,
                enabled=False,
                actor=request.user,
                reason=f"Disabled by {request.user.get_username()} in the admin.",
                ip_address=request.META.get("REMOTE_ADDR"),
            )
