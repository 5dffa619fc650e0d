"""The forms of a team's page. They check only the shape of the input: the rules (who may make
an owner, the last owner, budget limits, known models, safe webhook addresses) are the
services', whose messages the page shows next to the field they are about."""

from typing import Any

from django import forms

from accounts.models import Membership, Period
from accounts.services.pricing import SIZE_TIERS
from generations.catalog import list_models

ROLE_CHOICES = Membership.Role.choices


class MemberAddForm(forms.Form):
    who = forms.CharField(
        label="Username or email",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial=Membership.Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)

    def offer_owner(self, allowed: bool) -> "MemberRoleForm":
        """Show "Owner" only to those who may choose it (the service refuses anyone else)."""
        if not allowed and not self.is_bound:
            field = self.fields["role"]
            choices = [(value, label) for value, label in ROLE_CHOICES if value != "owner"]
            if self.initial.get("role") == Membership.Role.OWNER:
                choices = list(ROLE_CHOICES)  # the current value, even if it may not be chosen
            field.widget.choices = choices
        return self


class BudgetForm(forms.Form):
    limit = forms.IntegerField(
        label="Limit (credits)", min_value=0, widget=forms.NumberInput(attrs={"step": 1})
    )
    period = forms.ChoiceField(choices=Period.choices, initial=Period.MONTH, label="Resets")
    thresholds = forms.CharField(
        label="Alerts at (%)",
        required=False,
        initial="80, 100",
        help_text="Percentages of the limit, comma-separated; empty: no alerts.",
    )

    def clean_thresholds(self) -> list[int]:
        text = self.cleaned_data.get("thresholds", "")
        values = []
        for part in text.replace(";", ",").split(","):
            part = part.strip().rstrip("%").strip()
            if not part:
                continue
            if not part.isdigit():
                raise forms.ValidationError(
                    f"“{part}” is not a whole number; write percentages like 80, 100."
                )
            values.append(int(part))
        return values


class CatalogModelsField(forms.MultipleChoiceField):
    """Catalog models to tick; an id the catalog does not know is left for the policy service
    to name (``policy_validate``) rather than refused here with a generic message."""

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")


def _tier_choices() -> list[tuple[str, str]]:
    return [("", "Any size")] + [(tier, f"Up to {tier}") for tier in SIZE_TIERS]


class PolicyForm(forms.Form):
    allowed_models = CatalogModelsField(
        label="Allowed models",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked allows every model.",
    )
    max_size_tier = forms.CharField(
        label="Largest size",
        required=False,
        widget=forms.Select(choices=_tier_choices()),
    )
    max_images_per_request = forms.IntegerField(
        label="Images per request", required=False, help_text="Empty: as many as the model makes."
    )
    max_running = forms.IntegerField(
        label="Running at once",
        required=False,
        help_text="Generations of the team queued or running together; empty: no limit.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        models_field = self.fields["allowed_models"]
        assert isinstance(models_field, forms.MultipleChoiceField)
        models_field.choices = [(model.id, model.label) for model in list_models()]


class WebhookForm(forms.Form):
    webhook_url = forms.CharField(
        label="Webhook URL",
        required=False,
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/seedream"}),
        help_text="Signed budget.threshold events are posted here. Empty: no webhook.",
    )
