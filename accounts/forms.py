from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, cast

from allauth.account.forms import LoginForm, ResetPasswordForm
from allauth.mfa.base.forms import AuthenticateForm
from django import forms
from django.conf import settings
from django.contrib.auth.forms import SetPasswordMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils import timezone

from .models import ApiKey, Period, Team, User
from .selectors import (
    LEDGER_KIND_ALL,
    LEDGER_KIND_GENERATIONS,
    LEDGER_KIND_GRANTS,
    LedgerFilters,
)
from .services.pricing import SIZE_TIERS, priceable_models

# Ten years: long enough for any script, short enough that a forgotten key still runs out.
MAX_KEY_LIFETIME_DAYS = 3650


class ApiKeyCreateForm(forms.Form):
    """A new key; ``teams`` are the user's, offered as "Charge to" besides their own credits."""

    name = forms.CharField(
        label="Name",
        max_length=ApiKey._meta.get_field("name").max_length,
        help_text="What will use it, e.g. “render farm” or “Ana's laptop”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    expires_in_days = forms.IntegerField(
        label="Expires after (days)",
        required=False,
        min_value=1,
        max_value=MAX_KEY_LIFETIME_DAYS,
        help_text="Leave empty for a key that does not expire.",
    )
    team = forms.ChoiceField(
        label="Charge to",
        required=False,
        help_text="Generations made with the key are paid from here; it cannot be changed later.",
    )

    def __init__(self, *args: Any, teams: Sequence[Team] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "My own credits"), *((team.slug, f"Team {team.name}") for team in teams)]
        cast(forms.ChoiceField, self.fields["team"]).choices = choices
        if not teams:
            # Nothing to choose: the key charges the user's own credits.
            del self.fields["team"]

    def expires_at(self) -> datetime | None:
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + timedelta(days=days) if days else None


class ApiKeyBudgetForm(forms.Form):
    limit = forms.IntegerField(
        label="Credits per period",
        min_value=0,
        help_text="Requests made with the key are refused once it has spent this much.",
    )
    period = forms.ChoiceField(
        label="Resets", choices=Period.choices, initial=Period.MONTH, help_text="By the calendar."
    )


class ApiKeyPolicyForm(forms.Form):
    """What the key's generations may ask for; empty fields allow everything."""

    allowed_models = forms.MultipleChoiceField(
        label="Models allowed",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every model.",
    )
    max_size_tier = forms.ChoiceField(
        label="Largest size",
        required=False,
        choices=[("", "Any size"), *((tier, f"Up to {tier}") for tier in SIZE_TIERS)],
    )
    max_images_per_request = forms.IntegerField(
        label="Images per request",
        required=False,
        min_value=1,
        max_value=15,
        help_text="Empty: as many as the model allows.",
    )
    max_running = forms.IntegerField(
        label="Running at once",
        required=False,
        min_value=1,
        help_text="Generations made with the key that may be queued or running together; "
        "empty: no limit.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["allowed_models"]).choices = priceable_models()


class InvitationAcceptForm(SetPasswordMixin, forms.Form):
    """The invitee's username and password (the address is the invitation's)."""

    username = forms.CharField(
        label="Username",
        max_length=User._meta.get_field("username").max_length,
        validators=[UnicodeUsernameValidator()],
        help_text="How teammates see you. Letters, digits and @ . + - _ only.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password1, password2 = SetPasswordMixin.create_password_fields()

    def clean(self) -> dict[str, object]:
        self.validate_passwords()
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        self.validate_password_for_user(
            User(username=cleaned.get("username", ""), email=self.initial.get("email", ""))
        )
        return cleaned


class SignInForm(LoginForm):
    """allauth's sign-in form, worded as the workspace words it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "Username or email"
        self.fields["login"].widget.attrs.pop("placeholder", None)
        self.fields["password"].widget.attrs.pop("placeholder", None)
        self.fields["password"].help_text = ""  # the page has its own "Forgot your password?"
        if "remember" in self.fields:
            self.fields["remember"].label = "Keep me signed in on this device"

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()
        user = getattr(self, "user", None)
        if settings.SSO_ONLY and user is not None and not user.is_staff:
            # Checked after the password, so the answer tells nothing to who does not know it.
            raise forms.ValidationError(
                "Passwords are for staff here: use the single sign-on button above."
            )
        return cleaned


class MfaCodeForm(AuthenticateForm):
    """The code asked after the password when two-factor authentication is on."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        code = self.fields["code"]
        code.label = "Code"
        code.help_text = "The 6 digits your authenticator app shows now, or a recovery code."
        code.widget.attrs.pop("placeholder", None)
        code.widget.attrs.update({"inputmode": "numeric", "autocapitalize": "none"})


class PasswordResetForm(ResetPasswordForm):
    """allauth's reset form; with SSO_ONLY a reset link goes to staff only (everyone else has
    no password to reset), and the page answers the same either way."""

    def clean_email(self) -> str:
        email: str = super().clean_email()
        if settings.SSO_ONLY:
            found: list[User] = list(getattr(self, "users", []))
            self.users = [user for user in found if user.is_staff]
        return email


class LedgerFilterForm(forms.Form):
    """The credits history's filters, read from the query string so every view is a link."""

    kind = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[
            (LEDGER_KIND_ALL, "Everything"),
            (LEDGER_KIND_GENERATIONS, "Generations"),
            (LEDGER_KIND_GRANTS, "Grants and adjustments"),
        ],
    )
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    reversed_range = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and start > end:
            self.reversed_range = True
            self.add_error("end", "The end date is before the start date: swap the two dates.")
        return data

    def to_filters(self) -> LedgerFilters:
        """The valid filters; a field with an error filters nothing, except a reversed date
        range, which matches nothing."""
        data: dict[str, Any] = {}
        if self.is_bound:
            self.is_valid()  # cleans the form; each valid field stays in cleaned_data
            data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if self.reversed_range:
            end = self.data_date("end")
        return LedgerFilters(kind=data.get("kind") or LEDGER_KIND_ALL, start=start, end=end)

    def data_date(self, name: str) -> date | None:
        try:
            return self.fields[name].clean(self.data.get(name))
        except forms.ValidationError:
            return None

    def is_filtered(self) -> bool:
        return self.to_filters() != LedgerFilters()
