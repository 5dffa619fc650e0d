"""The audit trail in the admin: read-only, filterable by actor, kind and date, exportable.

Nobody adds, edits or deletes an event here (ReadOnlyAdminMixin, and no delete action). The CSV
export takes the changelist's own filters, so it holds exactly the events the list selects.
"""

import json
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import URLPattern, path
from django.utils import timezone

from studio_core.csv_export import csv_response
from studio_core.parsing import int_from_text
from studio_core.read_only_admin import ReadOnlyAdminMixin

from .models import AuditEvent, User

SYSTEM = "system"
CSV_HEADINGS = [
    "created_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "target",
    "before",
    "after",
    "ip_address",
]


class ActorFilter(admin.SimpleListFilter):
    """Who acted: each user with events, or the system (the router, a worker, a login attempt)."""

    title = "actor"
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        actors = User.objects.filter(
            Exists(AuditEvent.objects.filter(actor=OuterRef("pk")))
        ).order_by("username")
        choices = [(SYSTEM, "System (no actor)")]
        return choices + [(str(user.pk), user.get_username()) for user in actors]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet:
        value = self.value()
        if value == SYSTEM:
            return queryset.filter(actor__isnull=True)
        actor_id = int_from_text(value)
        if actor_id is not None:
            return queryset.filter(actor_id=actor_id)
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "target", "ip_address"]
    list_filter = [ActorFilter, "action", "target_type", "created_at"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"
    search_fields = ["actor__username", "target_repr", "target_id"]
    readonly_fields = (
        "created_at",
        "actor",
        "action",
        "target_type",
        "target_id",
        "target_repr",
        "before",
        "after",
        "ip_address",
    )
    fields = readonly_fields

    @admin.display(description="Target")
    def target(self, event: AuditEvent) -> str:
        return f"{event.target_type} {event.target_id}: {event.target_repr}"

    def get_urls(self) -> list[URLPattern]:
        export = self.admin_site.admin_view(self.export_view)
        return [path("export.csv", export, name="accounts_auditevent_export"), *super().get_urls()]

    def export_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """Every event the changelist selects with the same filters and search, as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        events = changelist.queryset.select_related("actor").iterator(chunk_size=2000)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        return csv_response(
            filename=f"audit-trail-{stamp}.csv",
            headings=CSV_HEADINGS,
            rows=(
                [
                    event.created_at.isoformat(),
                    event.actor.get_username() if event.actor else SYSTEM,
                    event.action,
                    event.target_type,
                    event.target_id,
                    event.target_repr,
                    json.dumps(event.before, sort_keys=True),
                    json.dumps(event.after, sort_keys=True),
                    event.ip_address,
                ]
                for event in events
            ),
        )
