"""Invitations in the admin: staff invite one or many addresses, see who is pending, and
resend or revoke. Each action calls ``accounts.services.invitations`` (which audits it)."""

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.validators import validate_email
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from studio_core.client_ip import client_ip

from .models import Invitation, Membership, Team, User
from .services.invitations import (
    InvitationError,
    invitation_resend,
    invitation_revoke,
    invitations_create,
)

# A pasted list: addresses separated by commas, semicolons, spaces or line breaks, each
# possibly in "Name <address>" form.
_SEPARATORS = re.compile(r"[\s,;]+")
_ANGLE_ADDRESS = re.compile(r"<([^<>\s]+)>")
MAX_ADDRESSES = 200


def addresses_from_text(text: str) -> list[str]:
    """The email addresses in a pasted list, in order (``Name <a@b>`` gives ``a@b``)."""
    text = _ANGLE_ADDRESS.sub(lambda match: f" {match.group(1)} ", text)
    return [word for word in _SEPARATORS.split(text) if "@" in word]


class InviteForm(forms.Form):
    emails = forms.CharField(
        label="Email addresses",
        widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
        help_text="One or many: paste a list separated by commas, spaces or line breaks.",
    )
    is_staff = forms.BooleanField(label="Staff", required=False, help_text="May use the admin.")
    credits = forms.IntegerField(
        label="Credits on acceptance", min_value=0, initial=0, help_text="For each new account."
    )
    team = forms.ModelChoiceField(
        label="Team",
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label="No team",
        help_text="Each new account joins this team on acceptance.",
    )
    team_role = forms.ChoiceField(
        label="Role in the team",
        choices=Membership.Role.choices,
        initial=Membership.Role.MEMBER,
        required=False,
        help_text="Used when a team is chosen.",
    )

    def clean_emails(self) -> list[str]:
        addresses = addresses_from_text(self.cleaned_data["emails"])
        if not addresses:
            raise forms.ValidationError("No email address found.")
        if len(addresses) > MAX_ADDRESSES:
            raise forms.ValidationError(f"At most {MAX_ADDRESSES} addresses at a time.")
        invalid = []
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError:
                invalid.append(address)
        if invalid:
            raise forms.ValidationError(f"Not an email address: {', '.join(invalid)}")
        return addresses


def _staff_member(request: HttpRequest) -> User | None:
    # The admin site lets in only signed-in staff.
    return request.user if isinstance(request.user, User) else None


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "status",
        "is_staff",
        "credits",
        "team",
        "invited_by",
        "sent_at",
        "expires_at",
        "accepted_user",
    ]
    list_filter = ["status", "is_staff", "team"]
    list_select_related = ["invited_by", "accepted_user", "team"]
    search_fields = ["email"]
    actions = ["resend_invitations", "revoke_invitations"]
    readonly_fields = [
        "email",
        "status",
        "is_staff",
        "credits",
        "team",
        "team_role",
        "invited_by",
        "created_at",
        "sent_at",
        "send_count",
        "expires_at",
        "accepted_at",
        "accepted_user",
        "revoked_at",
    ]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an invitation is resent or revoked, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the record of who was invited stays

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.add_invitation")

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """The "Invite people" page: one or many addresses, then back to the list."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = InviteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                outcomes = invitations_create(
                    emails=form.cleaned_data["emails"],
                    invited_by=_staff_member(request),
                    is_staff=form.cleaned_data["is_staff"],
                    credits=form.cleaned_data["credits"],
                    team=form.cleaned_data["team"],
                    team_role=form.cleaned_data["team_role"] or Membership.Role.MEMBER,
                    base_url=_base_url(request),
                    ip_address=client_ip(request),
                )
            except InvitationError as error:
                form.add_error(None, str(error))
            else:
                invited = [outcome.email for outcome in outcomes if outcome.invitation]
                if invited:
                    self.message_user(
                        request, f"Invited {len(invited)}: {', '.join(invited)}.", messages.SUCCESS
                    )
                for outcome in outcomes:
                    if outcome.refused:
                        self.message_user(
                            request,
                            f"Not invited: {outcome.email} {outcome.refused}.",
                            messages.WARNING,
                        )
                return HttpResponseRedirect(reverse("admin:accounts_invitation_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Invite people",
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/accounts/invitation/invite.html", context)

    @admin.action(description="Resend selected invitations", permissions=["resend"])
    def resend_invitations(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        self._each(
            request,
            queryset,
            "Resent",
            lambda invitation: invitation_resend(
                invitation=invitation,
                actor=_staff_member(request),
                base_url=_base_url(request),
                ip_address=client_ip(request),
            ),
        )

    @admin.action(description="Revoke selected invitations", permissions=["resend"])
    def revoke_invitations(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        self._each(
            request,
            queryset,
            "Revoked",
            lambda invitation: invitation_revoke(
                invitation=invitation, actor=_staff_member(request), ip_address=client_ip(request)
            ),
        )

    def _each(
        self, request: HttpRequest, queryset: QuerySet[Invitation], verb: str, apply: Any
    ) -> None:
        done, refused = [], []
        for invitation in queryset.order_by("pk"):
            try:
                apply(invitation)
            except InvitationError as error:
                refused.append(str(error))
            else:
                done.append(invitation.email)
        if done:
            self.message_user(request, f"{verb}: {', '.join(done)}.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)
