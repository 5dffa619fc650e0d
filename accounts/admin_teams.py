"""Teams, budgets and allowances in the admin.

Teams are created by ``team_create`` (with their wallet), members are set and removed by the
team services (the last owner stays; each change is audited), budgets by ``budget_set`` and
``budget_remove``, and credits reach a team's wallet by ``team_grant``: the admin only
translates. What budgets spent, held and alerted is a record, read-only here.
"""

import hashlib
import uuid
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import transaction
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from studio_core.client_ip import client_ip
from studio_core.errors import ServiceError
from studio_core.read_only_admin import ReadOnlyAdminMixin

from .models import (
    Allowance,
    Budget,
    BudgetAlert,
    BudgetHold,
    BudgetSpend,
    CreditEntry,
    Membership,
    Team,
    User,
)
from .services.audit import audit_record
from .services.budget_admin import BudgetInvalid, budget_remove, budget_set
from .services.teams import team_create, team_grant, team_member_remove, team_member_set

MESSAGE_MAX_TEAMS = 10


def _staff_member(request: HttpRequest) -> User:
    # The admin site lets in only logged-in staff, so the user here is never anonymous.
    return cast(User, request.user)


# --- Teams ------------------------------------------------------------------------------------


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


class TeamGrantForm(forms.Form):
    """The intermediate page of "Grant credits to the team wallet"; the rules (a positive
    amount, a memo) are the credit service's, whose message the page shows."""

    amount = forms.IntegerField(help_text="Credits per selected team.")
    memo = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "required": True}),
        help_text="Why: kept in the ledger and the audit trail.",
    )
    # Sent back with the page, so a double-submitted form grants once.
    request_token = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)


def _grant_idempotency_key(form: TeamGrantForm, team: Team) -> str:
    data = form.cleaned_data
    digest = hashlib.sha256(
        f"{data['request_token']}:{data['amount']}:{data['memo']}:{team.pk}".encode()
    ).hexdigest()
    return f"admin-team-grant:{digest}"


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "member_count", "available", "held", "created_at"]
    search_fields = ["name", "slug"]
    list_select_related = ["wallet"]
    inlines = [MembershipInline]
    actions = ["grant_credits"]
    # The policy and the webhook are changed on the team's page, where the policy is checked
    # against the catalog and the address vetted like a generation's webhook (both live above
    # this app); here they are shown.
    POLICY = ["allowed_models", "max_size_tier", "max_images_per_request", "max_running"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [(None, {"fields": ["name", "slug"]})]
        return [
            (None, {"fields": ["name", "slug", "team_page"]}),
            (
                "Policy and webhook (change them on the team page)",
                {"fields": [*self.POLICY, "webhook_url"]},
            ),
        ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(members=Count("memberships"))

    @admin.display(description="Members", ordering="members")
    def member_count(self, team: Team) -> int:
        return getattr(team, "members", 0)

    @admin.display(description="Available", ordering="wallet__available")
    def available(self, team: Team) -> int:
        return team.wallet.available if hasattr(team, "wallet") else 0

    @admin.display(description="Held", ordering="wallet__held")
    def held(self, team: Team) -> int:
        return team.wallet.held if hasattr(team, "wallet") else 0

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The slug is the team's address (/teams/<slug>/, the API's "team"): fixed once made.
        return ["slug", "team_page", *self.POLICY, "webhook_url"] if obj is not None else []

    @admin.display(description="Team page")
    def team_page(self, team: Team) -> str:
        url = reverse("team-detail", args=[team.slug])
        return format_html('<a href="{}">{}</a>', url, url)

    def save_model(self, request: HttpRequest, obj: Team, form: forms.Form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new team gets its wallet and its audit event from the service.
        made = team_create(name=obj.name, slug=obj.slug, actor=_staff_member(request))
        obj.pk, obj.slug, obj.created_at = made.pk, made.slug, made.created_at
        obj._state.adding = False

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool
    ) -> None:
        """Members are added, changed and removed by the team services (which keep the last
        owner and audit each change), not by saving the inline's rows."""
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        team = form.instance
        actor = _staff_member(request)
        # The admin's change message reads these lists, which formset.save() would have set.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline in cast(BaseInlineFormSet, formset).forms:
            if not inline.has_changed() and not _deleting(formset, inline):
                continue
            membership = inline.instance
            try:
                if _deleting(formset, inline):
                    if membership.pk is not None:
                        team_member_remove(team=team, user=membership.user, actor=actor)
                elif inline.cleaned_data.get("user") is not None:
                    team_member_set(
                        team=team,
                        user=inline.cleaned_data["user"],
                        role=inline.cleaned_data["role"],
                        actor=actor,
                    )
            except ServiceError as error:
                self.message_user(request, error.message, messages.ERROR)

    def has_grant_credits_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.change_creditaccount")

    @admin.action(description="Grant credits to the team wallet", permissions=["grant_credits"])
    def grant_credits(
        self, request: HttpRequest, queryset: QuerySet[Team]
    ) -> TemplateResponse | None:
        """Show the amount + memo page; on submit grant to every selected team or to none."""
        teams = list(queryset.select_related("wallet").order_by("pk"))
        if "apply" in request.POST:
            form = TeamGrantForm(request.POST)
            if form.is_valid():
                if self._grant(request, teams, form):
                    return None  # back to the changelist, which shows the message
            else:
                self.message_user(
                    request, "Nothing was granted: see the errors below.", messages.ERROR
                )
        else:
            form = TeamGrantForm(initial={"request_token": uuid.uuid4().hex})
        context = {
            **self.admin_site.each_context(request),
            "title": "Grant credits to team wallets",
            "opts": self.model._meta,
            "teams": teams,
            "form": form,
            "action": "grant_credits",
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/accounts/team_grant.html", context)

    def _grant(self, request: HttpRequest, teams: list[Team], form: TeamGrantForm) -> bool:
        granted: list[tuple[Team, CreditEntry]] = []
        try:
            with transaction.atomic():  # one refusal leaves every wallet as it was
                for team in teams:
                    entry = team_grant(
                        team=team,
                        amount=form.cleaned_data["amount"],
                        actor=_staff_member(request),
                        memo=form.cleaned_data["memo"],
                        idempotency_key=_grant_idempotency_key(form, team),
                        ip_address=client_ip(request),
                    )
                    granted.append((team, entry))
        except ValueError as error:
            self.message_user(request, f"Nothing was granted. {error}", messages.ERROR)
            return False
        changes = ", ".join(
            f"{team} {entry.amount:+,} (now {entry.available_after:,} available)"
            for team, entry in granted[:MESSAGE_MAX_TEAMS]
        )
        if len(granted) > MESSAGE_MAX_TEAMS:
            changes += f" and {len(granted) - MESSAGE_MAX_TEAMS} more teams"
        self.message_user(request, f"Granted credits: {changes}.", messages.SUCCESS)
        return True


def _deleting(formset: Any, inline: forms.BaseForm) -> bool:
    return bool(formset.can_delete and formset._should_delete_form(inline))


# --- Budgets ------------------------------------------------------------------------------------


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ["__str__", "scope", "team", "user", "api_key", "limit", "period", "thresholds"]
    list_filter = ["scope", "period"]
    list_select_related = ["team", "user", "api_key"]
    search_fields = ["team__name", "user__username", "api_key__name"]
    autocomplete_fields = ["team", "user", "api_key"]
    fields = ["scope", "team", "user", "api_key", "limit", "period", "thresholds"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # What a budget limits is its identity: another target is another budget.
        return ["scope", "team", "user", "api_key"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Budget, form: forms.Form, change: bool) -> None:
        try:
            saved = budget_set(
                scope=obj.scope,
                team=obj.team,
                user=obj.user,
                api_key=obj.api_key,
                limit=obj.limit,
                period=obj.period,
                thresholds=list(obj.thresholds or []),
                actor=_staff_member(request),
            )
        except BudgetInvalid as error:
            # The form's own checks passed; the service's rule did not.
            self.message_user(request, f"Not saved: {error}", messages.ERROR)
            return
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Budget) -> None:
        budget_remove(budget=obj, actor=_staff_member(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Budget]) -> None:
        for budget in queryset:
            budget_remove(budget=budget, actor=_staff_member(request))


@admin.register(BudgetSpend)
class BudgetSpendAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["budget", "period_start", "spent", "updated_at"]
    list_select_related = ["budget"]
    list_filter = ["period_start"]


@admin.register(BudgetHold)
class BudgetHoldAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["spend", "generation_id", "held", "released"]
    list_select_related = ["spend"]


@admin.register(BudgetAlert)
class BudgetAlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "spend", "threshold", "spent"]
    list_select_related = ["spend"]


# --- Allowances ---------------------------------------------------------------------------------


@admin.register(Allowance)
class AllowanceAdmin(admin.ModelAdmin):
    """Recurring grants; the scheduler writes them to the ledger. Each change is audited."""

    list_display = ["wallet", "amount", "period", "policy", "active", "last_granted_period"]
    list_filter = ["active", "period", "policy"]
    list_select_related = ["wallet__team", "wallet__user"]
    autocomplete_fields = ["wallet"]
    fields = ["wallet", "amount", "period", "policy", "active", "last_granted_period"]
    readonly_fields = ["last_granted_period"]

    def save_model(
        self, request: HttpRequest, obj: Allowance, form: forms.Form, change: bool
    ) -> None:
        with transaction.atomic():
            if not change:
                obj.created_by = _staff_member(request)
            super().save_model(request, obj, form, change)
            audit_record(
                actor=_staff_member(request),
                action="allowance.set",
                target=obj,
                before={name: str(form.initial.get(name)) for name in form.changed_data},
                after={name: str(getattr(obj, name)) for name in form.changed_data},
                ip_address=client_ip(request),
            )

    def delete_model(self, request: HttpRequest, obj: Allowance) -> None:
        with transaction.atomic():
            audit_record(
                actor=_staff_member(request),
                action="allowance.removed",
                target=obj,
                before={"amount": obj.amount, "period": obj.period},
                ip_address=client_ip(request),
            )
            super().delete_model(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Bulk deletion would skip the audit; stop one at a time (or untick "active").
        return obj is not None and super().has_delete_permission(request, obj)
