from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils import timezone

from accounts.models import Team
from generations.usage.dimensions import DIMENSIONS, day_bounds

DEFAULT_DAYS = 30
MAX_DAYS = 400  # a little over a year: the longest range a staff member compares


def _today() -> date:
    return timezone.localdate()


def _default_start() -> date:
    return _today() - timedelta(days=DEFAULT_DAYS - 1)


class UsageReportForm(forms.Form):
    """The report's date range (whole days, inclusive, in the site's time zone) and grouping."""

    start = forms.DateField(initial=_default_start, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(initial=_today, widget=forms.DateInput(attrs={"type": "date"}))
    group_by = forms.MultipleChoiceField(
        choices=[(name, dimension.label) for name, dimension in DIMENSIONS.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Columns in this order; none gives one line for the whole range.",
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label="Every wallet",
        help_text="Only generations charged to this team's wallet.",
    )

    @classmethod
    def from_query(cls, query: QueryDict) -> "UsageReportForm":
        """Bound to the query string, with the defaults for whatever it leaves out."""
        data = query.copy()
        if not data.get("start"):
            data["start"] = _default_start().isoformat()
        if not data.get("end"):
            data["end"] = _today().isoformat()
        if "group_by" not in data:
            data.setlist("group_by", ["user"])
        return cls(data)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError("The end date is before the start date.")
            if (end - start).days + 1 > MAX_DAYS:
                raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        # Checkbox order in the request is the browser's; keep the canonical column order.
        chosen = set(data.get("group_by") or [])
        data["group_by"] = [name for name in DIMENSIONS if name in chosen]
        return data

    def bounds(self) -> tuple[datetime, datetime]:
        """``[start of the first day, start of the day after the last)``."""
        first, _ = day_bounds(self.cleaned_data["start"])
        _, after_last = day_bounds(self.cleaned_data["end"])
        return first, after_last
