"""Staff pages for generations, their attempts and provider accounts.

Generations and attempts are records: read-only here. Provider accounts change only through
``generations.services.provider_accounts``, which audits every change. The usage report and
provider health pages (``generations.usage.views``) are mounted under these admins' URLs.
"""

import contextlib
from functools import partial
from typing import Any, cast
from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import FileResponse, Http404, HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts.models import User
from generations.admin.inlines import (
    CreditEntryInline,
    OutputImageInline,
    ProviderAttemptInline,
    ReferenceImageInline,
    WebhookDeliveryInline,
)
from generations.models import (
    Generation,
    OutputImage,
    ProviderAccount,
    ProviderAttempt,
    ReferenceImage,
)
from generations.selectors.generations import demo_output_exists, generation_is_demo
from generations.services.provider_accounts import (
    EDITABLE_FIELDS,
    ProviderAccountInput,
    provider_account_create,
    provider_account_set_enabled,
    provider_account_set_key,
    provider_account_update,
)
from generations.usage.filters import (
    ApiKeyFilter,
    DemoOutputFilter,
    ModelFilter,
    ProviderFilter,
    ServedByFilter,
    TeamFilter,
)
from generations.usage.views import provider_health_view, usage_report_view
from studio_core.client_ip import client_ip
from studio_core.read_only_admin import ReadOnlyAdminMixin


def _staff_member(request: HttpRequest) -> User:
    # The admin site lets in only logged-in staff, so the user here is never anonymous.
    return cast(User, request.user)


def _last_attempt(field: str) -> Subquery:
    return Subquery(
        ProviderAttempt.objects.filter(generation=OuterRef("pk")).order_by("-id").values(field)[:1]
    )


DETAIL_SECTIONS: list[tuple[str, list[str]]] = [
    ("Request", ["id", "owner", "api_key", "model", "prompt", "params", "num_images"]),
    (
        "Outcome",
        ["status", "demo_output", "error_code", "error_message", "image_errors", "seed_used"],
    ),
    ("Credits", ["price_per_image", "credits_held", "credits_charged", "ledger"]),
    ("Times", ["created_at", "started_at", "finished_at", "duration", "deleted_at"]),
]


@admin.register(Generation)
class GenerationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    class Media:
        # Long hashes, URLs and JSON wrap or scroll in their own box: the page fits 1280 px.
        css = {"all": ["css/admin-generation.css"]}

    list_display = [
        "created_at",
        "short_id",
        "owner",
        "api_key",
        "model",
        "status",
        "num_images",
        "images",
        "credits_charged",
        "served_by",
        "demo_output",
        "deleted",
    ]
    list_filter = [
        "status",
        ModelFilter,
        ("owner", admin.RelatedOnlyFieldListFilter),
        ApiKeyFilter,
        ProviderFilter,
        ServedByFilter,
        TeamFilter,
        DemoOutputFilter,
        "created_at",
        "visibility",
        ("deleted_at", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["owner", "api_key"]
    # Counting every match of a filtered 100,000-row list twice is the slowest part of a page.
    show_full_result_count = False
    date_hierarchy = "created_at"
    search_help_text = "Prompt words, a generation id, or a provider request / task id."
    search_fields = ["prompt"]  # the real search is get_search_results; this shows the box
    inlines = [
        ReferenceImageInline,
        OutputImageInline,
        ProviderAttemptInline,
        CreditEntryInline,
        WebhookDeliveryInline,
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Generation._meta.fields] + [
            "demo_output",
            "ledger",
            "duration",
        ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """The fields in groups; any field added to the model later lands in "Other"."""
        placed = {name for _, names in DETAIL_SECTIONS for name in names}
        rest = [field.name for field in Generation._meta.fields if field.name not in placed]
        sections = [(title, {"fields": names}) for title, names in DETAIL_SECTIONS]
        other = [("Other", {"fields": rest, "classes": ["collapse"]})] if rest else []
        return sections + other

    def get_queryset(self, request: HttpRequest) -> QuerySet[Generation]:
        # Subqueries, not joins: only the page's rows evaluate them.
        return (
            super()
            .get_queryset(request)
            .annotate(
                image_count=Subquery(
                    OutputImage.objects.filter(generation=OuterRef("pk"))
                    .order_by()
                    .values("generation")
                    .annotate(count=Count("pk"))
                    .values("count")
                ),
                served_by_label=_last_attempt("account__label"),
                is_demo=demo_output_exists(),
            )
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Generation], search_term: str
    ) -> tuple[QuerySet[Generation], bool]:
        """Prompt words, or an exact generation id or provider request / task id."""
        term = search_term.strip()
        if not term:
            return queryset, False
        # An IN computed once (request ids are indexed), not a subquery per generation.
        by_request = ProviderAttempt.objects.filter(provider_request_id=term)
        matches = Q(prompt__icontains=term) | Q(pk__in=by_request.values("generation_id"))
        with contextlib.suppress(ValueError):  # not an id: prompt and request ids only
            matches |= Q(pk=UUID(term))
        return queryset.filter(matches), False

    @admin.display(description="Id")
    def short_id(self, generation: Generation) -> str:
        return str(generation.pk)[:8]

    @admin.display(description="Images")
    def images(self, generation: Generation) -> int:
        return getattr(generation, "image_count", None) or 0

    @admin.display(description="Served by")
    def served_by(self, generation: Generation) -> str:
        return getattr(generation, "served_by_label", None) or "—"

    @admin.display(description="Demo output", boolean=True)
    def demo_output(self, generation: Generation) -> bool:
        """Images from the built-in demo renderer: placeholders, not Seedream output."""
        return generation_is_demo(generation)

    @admin.display(description="Deleted", boolean=True)
    def deleted(self, generation: Generation) -> bool:
        return generation.deleted_at is not None

    @admin.display(description="Time to finish")
    def duration(self, generation: Generation) -> str:
        if generation.started_at is None or generation.finished_at is None:
            return "—"
        return f"{(generation.finished_at - generation.started_at).total_seconds():.1f} s"

    @admin.display(description="Ledger")
    def ledger(self, generation: Generation) -> str:
        url = reverse("admin:accounts_creditentry_changelist")
        link = '<a href="{}?generation__id__exact={}">Credit entries of this generation</a>'
        return format_html(link, url, generation.pk)

    def get_urls(self) -> list[URLPattern]:
        site = self.admin_site
        return [
            path(
                "usage/",
                site.admin_view(partial(usage_report_view, site=site)),
                name="generations_usage_report",
            ),
            path(
                "<uuid:generation_id>/files/<str:kind>/<int:image_id>/",
                site.admin_view(self.file_view),
                name="generations_generation_file",
            ),
            *super().get_urls(),
        ]

    def file_view(
        self, request: HttpRequest, generation_id: UUID, kind: str, image_id: int
    ) -> FileResponse:
        """A stored reference or output image (or its thumbnail), deleted generations included."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        name: str | None = None
        if kind == "reference":
            reference = ReferenceImage.objects.filter(pk=image_id, generation_id=generation_id)
            name = reference.values_list("file", flat=True).first()
        elif kind in ("output", "thumbnail"):
            output = OutputImage.objects.filter(pk=image_id, generation_id=generation_id)
            field = "thumbnail" if kind == "thumbnail" else "file"
            name = output.values_list(field, flat=True).first()
        if not name or not default_storage.exists(name):
            raise Http404("The file is no longer stored.")
        return FileResponse(default_storage.open(name, "rb"))


@admin.register(ProviderAttempt)
class ProviderAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "started_at",
        "generation_link",
        "account",
        "provider_kind",
        "outcome",
        "http_status",
        "error_code",
        "images_returned",
        "latency_ms",
        "provider_request_id",
    ]
    list_filter = [
        "provider_kind",
        "outcome",
        ("account", admin.RelatedOnlyFieldListFilter),
        "error_code",
        "started_at",
    ]
    list_select_related = ["account"]
    show_full_result_count = False
    date_hierarchy = "started_at"
    search_fields = ["=provider_request_id"]
    search_help_text = "An exact provider request / task id."

    @admin.display(description="Generation", ordering="generation_id")
    def generation_link(self, attempt: ProviderAttempt) -> str:
        url = reverse("admin:generations_generation_change", args=[attempt.generation_id])
        return format_html('<a href="{}">{}</a>', url, str(attempt.generation_id)[:8])


class ProviderAccountForm(forms.ModelForm):
    """The stored key is never shown back; typing a new one replaces it."""

    new_api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the stored key. The key is encrypted and never shown.",
    )
    # A provider's address typed without a scheme is an https one.
    base_url = forms.URLField(
        label="Base URL", max_length=500, required=False, assume_scheme="https"
    )

    class Meta:
        model = ProviderAccount
        # The kind is chosen once, when the account is added; the rest the service lets change.
        fields = ["kind", *EDITABLE_FIELDS]


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
        ip_address = client_ip(request)
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
                actor=_staff_member(request),
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
            actor=_staff_member(request),
            ip_address=ip_address,
        )
        if api_key:
            provider_account_set_key(
                account=obj, api_key=api_key, actor=_staff_member(request), ip_address=ip_address
            )

    def get_urls(self) -> list[URLPattern]:
        site = self.admin_site
        health = site.admin_view(partial(provider_health_view, site=site))
        return [
            path("health/", health, name="generations_provider_health"),
            *super().get_urls(),
        ]

    # Each switch is its own audited change (provider_account_set_enabled writes the event).
    @admin.action(description="Enable selected accounts")
    def enable_accounts(self, request: HttpRequest, queryset: Any) -> None:
        for account in queryset:
            provider_account_set_enabled(
                account=account,
                enabled=True,
                actor=_staff_member(request),
                ip_address=client_ip(request),
            )
        self.message_user(request, f"Enabled {len(queryset)} account(s).", messages.SUCCESS)

    @admin.action(description="Disable selected accounts")
    def disable_accounts(self, request: HttpRequest, queryset: Any) -> None:
        for account in queryset:
            provider_account_set_enabled(
                account=account,
                enabled=False,
                actor=_staff_member(request),
                reason=f"Disabled by {request.user.get_username()} in the admin.",
                ip_address=client_ip(request),
            )
        self.message_user(request, f"Disabled {len(queryset)} account(s).", messages.SUCCESS)
