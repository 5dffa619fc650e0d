"""Staff pages for users, keys, the credit ledger and prices (the audit trail: admin_audit).

Every change goes through ``accounts.services``: nothing here writes a balance, a ledger row or
an audit event itself. Records of what happened (ledger, balances, audit) are read-only.
"""

import hashlib
import uuid
from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.db import models, transaction
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from studio_core.client_ip import client_ip
from studio_core.read_only_admin import ReadOnlyAdminMixin

from . import (
    admin_audit,  # noqa: F401  (registers the audit trail's admin)
    admin_invitations,  # noqa: F401  (registers the invitations' admin)
    admin_teams,  # noqa: F401  (registers teams, budgets and allowances)
)
from .models import ApiKey, Budget, CreditAccount, CreditEntry, ModelPrice, Period, User
from .selectors import user_mfa_on, user_sso_on
from .services.budget_admin import budget_remove, budget_set
from .services.credits import InsufficientCredits, credits_adjust, credits_grant
from .services.keys import api_key_revoke
from .services.pricing import SIZE_TIERS, price_set, priceable_models
from .services.users import AUDITED_FLAGS, user_running_limit_set, user_set_flags

CreditService = Callable[..., CreditEntry]
# A batch's success message names this many users; the ledger has every one.
MESSAGE_MAX_USERS = 10


def _staff_member(request: HttpRequest) -> User:
    # The admin site lets in only logged-in staff, so the user here is never anonymous.
    return cast(User, request.user)


# --- Users and their credits -----------------------------------------------------------------


class CreditChangeForm(forms.Form):
    """The intermediate page of "Grant credits" / "Adjust credits".

    Only the shape of the input is checked here; the rules (a grant is positive, a memo is
    required, a balance never goes below zero) live in the credit services, whose errors the
    page shows, so the two cannot drift apart.
    """

    amount = forms.IntegerField(help_text="Credits per selected user.")
    memo = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "required": True}),
        help_text="Why: kept in the ledger and the audit trail.",
    )
    # Issued with the page and sent back with it, so a double-submitted form changes the
    # balance once (it becomes part of each entry's idempotency key).
    request_token = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)


def _credit_idempotency_key(*, kind: str, form: CreditChangeForm, user: User) -> str:
    # The amount and memo are part of the key: going back and submitting different numbers is
    # a new request, re-submitting the same page is not.
    data = form.cleaned_data
    digest = hashlib.sha256(
        f"{data['request_token']}:{data['amount']}:{data['memo']}:{user.pk}".encode()
    ).hexdigest()
    return f"admin-{kind}:{digest}"


class UserLimitsChangeForm(UserChangeForm):
    """The user page with the user's personal budget: a limit on what generations charged to
    their own wallet may spend per period (saved through ``budget_set``, not by the form)."""

    personal_budget_limit = forms.IntegerField(
        label="Personal budget (credits)",
        required=False,
        min_value=0,
        help_text="What generations paid from the user's own credits may spend per period; "
        "empty: no budget.",
    )
    personal_budget_period = forms.ChoiceField(
        label="Budget resets", choices=Period.choices, initial=Period.MONTH, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "max_running" in self.fields:
            self.fields["max_running"].label = "Generations running at once"
        budget = self.personal_budget()
        if budget is not None:
            self.initial["personal_budget_limit"] = budget.limit
            self.initial["personal_budget_period"] = budget.period

    def personal_budget(self) -> Budget | None:
        if self.instance.pk is None:
            return None
        return Budget.objects.filter(scope=Budget.Scope.USER, user=self.instance).first()


# The user page's section for what the user may spend and run (saved through services).
LIMIT_FIELDS = ("max_running", "personal_budget_limit", "personal_budget_period")


@admin.register(User)
class TeamUserAdmin(UserAdmin):
    form = UserLimitsChangeForm
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "is_staff",
        "last_login",
        "sign_in",
        "available_credits",
        "held_credits",
    )
    readonly_fields = ("available_credits", "held_credits", "credit_history")

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        # Staff bring people in by invitation: the invitee chooses the password, nobody else.
        return HttpResponseRedirect(reverse("admin:accounts_invitation_add"))

    @admin.display(description="Signs in with")
    def sign_in(self, user: User) -> str:
        ways = ["Password" if user.has_usable_password() else "No password set"]
        if getattr(user, "sso_on", False):
            ways.append("SSO")
        if getattr(user, "mfa_on", False):
            ways.append("MFA on")
        return ", ".join(ways)

    actions = ["grant_credits", "adjust_credits"]

    def save_model(self, request: HttpRequest, obj: User, form: forms.Form, change: bool) -> None:
        """Save the form, with staff / superuser / active changes, the running limit and the
        personal budget made (and audited) by the services rather than by the form."""
        if change and "max_running" in form.changed_data:
            max_running = obj.max_running
            obj.max_running = form.initial["max_running"]
            self._save_flags(request, obj, form, change)
            user_running_limit_set(
                user=obj,
                max_running=max_running,
                actor=_staff_member(request),
                ip_address=client_ip(request),
            )
        else:
            self._save_flags(request, obj, form, change)
        if change and isinstance(form, UserLimitsChangeForm):
            self._save_personal_budget(request, obj, form)

    def _save_personal_budget(
        self, request: HttpRequest, user: User, form: UserLimitsChangeForm
    ) -> None:
        if not {"personal_budget_limit", "personal_budget_period"} & set(form.changed_data):
            return
        limit = form.cleaned_data.get("personal_budget_limit")
        budget = form.personal_budget()
        if limit is None:
            if budget is not None:
                budget_remove(budget=budget, actor=_staff_member(request))
            return
        budget_set(
            scope=Budget.Scope.USER,
            user=user,
            limit=limit,
            period=form.cleaned_data["personal_budget_period"] or Period.MONTH,
            actor=_staff_member(request),
        )

    def _save_flags(self, request: HttpRequest, obj: User, form: forms.Form, change: bool) -> None:
        flags = {name: getattr(obj, name) for name in AUDITED_FLAGS if name in form.changed_data}
        if not change or not flags:
            super().save_model(request, obj, form, change)
            return
        for name in flags:  # the form's other fields are saved as usual, flags as they were
            setattr(obj, name, form.initial[name])
        super().save_model(request, obj, form, change)
        user_set_flags(
            user=obj, changes=flags, actor=_staff_member(request), ip_address=client_ip(request)
        )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets  # the add form: no balance yet
        return [
            *fieldsets,
            ("Credits", {"fields": self.readonly_fields}),
            ("Limits", {"fields": LIMIT_FIELDS}),
        ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        # One LEFT JOIN instead of a query per row; a user without an account has 0 and 0.
        return (
            super()
            .get_queryset(request)
            .annotate(mfa_on=user_mfa_on(), sso_on=user_sso_on())
            .annotate(
                credits_available=Coalesce(
                    F("credit_account__available"), Value(0), output_field=models.BigIntegerField()
                ),
                credits_held=Coalesce(
                    F("credit_account__held"), Value(0), output_field=models.BigIntegerField()
                ),
            )
        )

    @admin.display(description="Available", ordering="credits_available")
    def available_credits(self, user: User) -> int:
        return getattr(user, "credits_available", 0)

    @admin.display(description="Held", ordering="credits_held")
    def held_credits(self, user: User) -> int:
        return getattr(user, "credits_held", 0)

    @admin.display(description="Ledger")
    def credit_history(self, user: User) -> str:
        url = reverse("admin:accounts_creditentry_changelist")
        return format_html(
            '<a href="{}?account__user__id__exact={}">Credit entries</a>', url, user.pk
        )

    # Granting needs the model permission to change credit accounts, even though the account
    # admin itself is read-only: the permission says who may move credits, the service how.
    def has_change_credits_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.change_creditaccount")

    @admin.action(description="Grant credits", permissions=["change_credits"])
    def grant_credits(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> TemplateResponse | None:
        return self._credit_action(
            request, queryset, kind="grant", service=credits_grant, title="Grant credits"
        )

    @admin.action(description="Adjust credits", permissions=["change_credits"])
    def adjust_credits(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> TemplateResponse | None:
        return self._credit_action(
            request, queryset, kind="adjust", service=credits_adjust, title="Adjust credits"
        )

    def _credit_action(
        self,
        request: HttpRequest,
        queryset: QuerySet[User],
        *,
        kind: str,
        service: CreditService,
        title: str,
    ) -> TemplateResponse | None:
        """Show the amount + memo page; on submit apply it to every selected user or to none."""
        users = list(queryset.order_by("pk"))
        if "apply" in request.POST:
            form = CreditChangeForm(request.POST)
            if form.is_valid():
                if self._apply_credit_change(request, users, kind=kind, service=service, form=form):
                    return None  # back to the changelist, which shows the message
            else:
                self.message_user(
                    request, "Nothing was changed: see the errors below.", messages.ERROR
                )
        else:
            form = CreditChangeForm(initial={"request_token": uuid.uuid4().hex})
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "users": users,
            "form": form,
            "action": f"{kind}_credits",
            "kind": kind,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/accounts/credit_action.html", context)

    def _apply_credit_change(
        self,
        request: HttpRequest,
        users: list[User],
        *,
        kind: str,
        service: CreditService,
        form: CreditChangeForm,
    ) -> bool:
        entries: list[tuple[User, CreditEntry]] = []
        current: User | None = None
        try:
            # One transaction for the batch: a refusal for one user leaves every balance as it
            # was. Users are taken in id order so two staff batches lock rows in the same order.
            with transaction.atomic():
                for current in users:
                    entry = service(
                        user=current,
                        amount=form.cleaned_data["amount"],
                        actor=_staff_member(request),
                        memo=form.cleaned_data["memo"],
                        idempotency_key=_credit_idempotency_key(kind=kind, form=form, user=current),
                        ip_address=client_ip(request),
                    )
                    entries.append((current, entry))
        except InsufficientCredits as error:
            # Said to the staff member, about the user (the error's own text is for the user).
            assert current is not None
            self.message_user(
                request,
                f"Nothing was changed. {current.get_username()} has {error.available:,} "
                f"available; this adjustment needs {error.needed:,}.",
                messages.ERROR,
            )
            return False
        except ValueError as error:
            who = f"{current.get_username()}: " if current is not None and len(users) > 1 else ""
            self.message_user(request, f"Nothing was changed. {who}{error}", messages.ERROR)
            return False
        changes = ", ".join(
            f"{user.get_username()} {entry.amount:+,} (now {entry.available_after:,} available)"
            for user, entry in entries[:MESSAGE_MAX_USERS]
        )
        if len(entries) > MESSAGE_MAX_USERS:
            changes += f" and {len(entries) - MESSAGE_MAX_USERS} more users"
        verb = "Granted" if kind == "grant" else "Adjusted"
        self.message_user(request, f"{verb} credits: {changes}.", messages.SUCCESS)
        return True


@admin.register(CreditAccount)
class CreditAccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "team", "available", "held", "updated_at"]
    list_select_related = ["user", "team"]
    search_fields = ["user__username", "team__name"]
    ordering = ["user__username"]


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "account_user",
        "kind",
        "amount",
        "held_change",
        "available_after",
        "held_after",
        "generation_id",
        "actor",
        "memo",
    ]
    list_filter = ["kind", ("account__user", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["account__user", "account__team", "actor"]
    date_hierarchy = "created_at"
    search_fields = ["account__user__username", "memo", "generation__id"]

    @admin.display(description="Wallet", ordering="account__user__username")
    def account_user(self, entry: CreditEntry) -> str:
        return entry.account.owner_label


# --- API keys ----------------------------------------------------------------------------------


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["user__username", "name", "prefix"]
    # The hash is never shown: it is not a secret by itself, but nothing needs to see it.
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    exclude = ["secret_hash"]
    actions = ["revoke_keys"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a key is shown once to whoever creates it: its owner, on /account/keys/

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        # The change form is off, but revoking is a change: it needs the model permission.
        return request.user.has_perm("accounts.change_apikey")

    @admin.action(description="Revoke selected keys", permissions=["revoke"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset)
        already_revoked = sum(key.is_revoked for key in keys)
        for key in keys:
            api_key_revoke(api_key=key, actor=_staff_member(request), ip_address=client_ip(request))
        message = f"Revoked {len(keys) - already_revoked} API key(s)."
        if already_revoked:
            message += f" {already_revoked} had been revoked already."
        self.message_user(request, message, messages.SUCCESS)


# --- Prices --------------------------------------------------------------------------------


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = [
        "model",
        "size_tier_label",
        "credits_per_image",
        "source",
        "updated_at",
        "updated_by",
    ]
    list_filter = ["model"]
    list_select_related = ["updated_by"]
    fields = ["model", "size_tier", "credits_per_image", "source", "updated_at", "updated_by"]
    readonly_fields = ["updated_at", "updated_by"]

    @admin.display(description="Size tier", ordering="size_tier")
    def size_tier_label(self, price: ModelPrice) -> str:
        return price.size_tier or "every size"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Model and tier are the row's identity: price_set finds the row by them, so another
        # model or tier is a new row, not an edit of this one.
        if obj is not None:
            return [*self.readonly_fields, "model", "size_tier"]
        return list(self.readonly_fields)

    def formfield_for_dbfield(
        self, db_field: models.Field, request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if db_field.name == "model":
            return forms.ChoiceField(choices=priceable_models, help_text=db_field.help_text)
        if db_field.name == "size_tier":
            tiers = [
                ("", "Every size without its own price"),
                *((tier, tier) for tier in SIZE_TIERS),
            ]
            return forms.ChoiceField(choices=tiers, required=False)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: ModelPrice, form: forms.Form, change: bool
    ) -> None:
        # price_set writes the row and its audit event (before/after) in one transaction.
        saved = price_set(
            model_id=obj.model,
            size_tier=obj.size_tier,
            credits_per_image=obj.credits_per_image,
            actor=_staff_member(request),
            source=obj.source,
            ip_address=client_ip(request),
        )
        # The admin goes on to log and redirect with ``obj``: give it the saved row's state.
        obj.pk = saved.pk
        obj.source = saved.source
        obj.updated_at = saved.updated_at
        obj.updated_by = saved.updated_by

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Generations already quoted keep their price; a missing price would stop new ones.
        return False
