"""The admin of records of what happened (ledger entries, audit events, provider calls)."""

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Records of what happened: staff read them, nobody adds, edits or deletes them here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
