"""Filters of the Generation admin changelist: the targets of the usage report's drill-downs.

Parameter names and meanings come from ``generations.usage.dimensions``, so a report figure and
the list it links to always select the same generations. Choices come from the catalog or small
tables (keys, provider accounts), never from a DISTINCT over 100,000 generations.
"""

from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest

from accounts.models import ApiKey, Team
from generations.catalog import list_models
from generations.models import Generation, ProviderAccount, ProviderAttempt
from generations.selectors.generations import demo_output_exists
from generations.usage.dimensions import (
    NONE_VALUE,
    PARAM_API_KEY,
    PARAM_MODEL,
    PARAM_SERVED_BY,
    PARAM_TEAM,
    generations_served_by,
)
from studio_core.parsing import int_from_text

PARAM_PROVIDER = "provider"


def _as_id(value: str | None) -> int | None:
    return int_from_text(value)


class ModelFilter(admin.SimpleListFilter):
    title = "model"
    parameter_name = PARAM_MODEL

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(model.id, model.label) for model in list_models()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Generation]) -> QuerySet:
        return queryset.filter(model=self.value()) if self.value() else queryset


class ApiKeyFilter(admin.SimpleListFilter):
    title = "API key"
    parameter_name = PARAM_API_KEY

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        keys = ApiKey.objects.select_related("user").order_by("user__username", "name")
        return [(NONE_VALUE, "No key (browser)")] + [
            (str(key.pk), f"{key.user.get_username()}: {key}") for key in keys
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Generation]) -> QuerySet:
        if self.value() == NONE_VALUE:
            return queryset.filter(api_key__isnull=True)
        key_id = _as_id(self.value())
        return queryset.filter(api_key_id=key_id) if key_id is not None else queryset


class TeamFilter(admin.SimpleListFilter):
    """The team whose wallet was charged (the usage report's "team" grouping and filter)."""

    title = "charged to team"
    parameter_name = PARAM_TEAM

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        teams = Team.objects.order_by("name").values_list("pk", "name")
        return [(str(pk), name) for pk, name in teams] + [(NONE_VALUE, "Personal wallets")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Generation]) -> QuerySet:
        if self.value() == NONE_VALUE:
            return queryset.filter(wallet__team__isnull=True)
        team_id = _as_id(self.value())
        return queryset.filter(wallet__team_id=team_id) if team_id is not None else queryset


class ServedByFilter(admin.SimpleListFilter):
    """The provider account of the generation's last attempt (the usage report's grouping)."""

    title = "served by (last attempt)"
    parameter_name = PARAM_SERVED_BY

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        accounts = ProviderAccount.objects.order_by("priority", "label")
        return [(str(account.pk), account.label) for account in accounts] + [
            (NONE_VALUE, "No provider call")
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Generation]) -> QuerySet:
        if self.value() == NONE_VALUE:
            return generations_served_by(queryset, None)
        account_id = _as_id(self.value())
        return generations_served_by(queryset, account_id) if account_id else queryset


class ProviderFilter(admin.SimpleListFilter):
    """Generations with any attempt at a provider of this kind (failed-over ones included)."""

    title = "provider (any attempt)"
    parameter_name = PARAM_PROVIDER

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(ProviderAccount.Kind.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Generation]) -> QuerySet:
        if not self.value():
            return queryset
        attempts = ProviderAttempt.objects.filter(
            generation=OuterRef("pk"), provider_kind=self.value()
        )
        return queryset.filter(Exists(attempts))


class DemoOutputFilter(admin.SimpleListFilter):
    """Generations whose images the built-in demo renderer drew (placeholders), or the rest."""

    title = "demo output"
    parameter_name = "demo"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Demo placeholders"), ("no", "Not demo")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Generation]) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(demo_output_exists())
        if self.value() == "no":
            return queryset.filter(~demo_output_exists())
        return queryset
