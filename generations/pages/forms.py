"""Forms of the workspace pages: compose, the gallery's filters and boards.

The forms only translate input; the catalog (``generations.catalog``) and the services hold the
rules, and their errors are added back to the field they concern.
"""

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol, cast

from django import forms
from django.conf import settings

from accounts.models import Team
from generations.catalog import (
    ASPECT_RATIOS,
    MAX_PROMPT_LENGTH,
    GenerationSpec,
    list_models,
    size_help,
)
from generations.models import Board, Generation
from generations.selectors.generations import GALLERY_TAB_TEAM, GalleryFilters
from generations.selectors.wallets import WalletChoice
from generations.services.submit import WALLET_TEAM, SharedTeam

# The "Share with" option for everyone on the installation (a generation or board shared with
# no team in particular).
SHARE_WITH_EVERYONE = ""

# Catalog field names -> form field names, so catalog errors land next to the right control.
SPEC_FIELD_TO_FORM_FIELD = {"reference_count": "references", "team": "charge_to"}


class CarriedReference(Protocol):
    """A reference image carried into the compose form from an earlier generation
    (``generations.pages.compose.CarriedImage``)."""

    @property
    def token(self) -> str: ...

    @property
    def label(self) -> str: ...

    def read(self) -> bytes: ...


def choices_set(field: forms.Field, choices: list[tuple[Any, str]]) -> None:
    """Set a choice field's options (``Field`` as django-stubs types ``form.fields`` has none)."""
    cast(forms.ChoiceField, field).choices = choices


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        cleaned = [super(MultipleImageField, self).clean(item, initial) for item in files]
        limit = settings.REFERENCE_MAX_BYTES
        for item in cleaned:
            if item.size > limit:
                raise forms.ValidationError(
                    f"{item.name} is {item.size / (1024 * 1024):.1f} MB; a reference image may be "
                    f"at most {limit // (1024 * 1024)} MB."
                )
        return cleaned


class ComposeForm(forms.Form):
    model = forms.ChoiceField(label="Model")
    prompt = forms.CharField(
        label="Prompt",
        max_length=MAX_PROMPT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "Describe the image…"}),
    )
    size = forms.CharField(
        label="Size",
        required=False,
        # Its help is the chosen model's own rule (``size_help``), shown under the size row
        # (#size-help) and swapped by the compose script when the model changes.
        widget=forms.TextInput(
            attrs={"list": "size-options", "autocomplete": "off", "aria-describedby": "size-help"}
        ),
    )
    aspect_ratio = forms.ChoiceField(
        label="Aspect ratio",
        required=False,
        help_text="Default keeps the reference image's shape when one is attached, "
        "else the model's.",
    )
    num_images = forms.IntegerField(label="Images", min_value=1, max_value=15, initial=1)
    seed = forms.IntegerField(label="Seed", required=False)
    guidance_scale = forms.FloatField(label="Guidance scale", required=False)
    references = MultipleImageField(label="Reference images", required=False)
    # Images of earlier generations kept as references ("reuse", "use as reference"): checked
    # boxes, so they can be dropped without JavaScript too.
    carried_references = forms.MultipleChoiceField(
        label="Kept references", required=False, widget=forms.CheckboxSelectMultiple
    )
    visibility = forms.ChoiceField(
        label="Visible to", choices=Generation.Visibility.choices, initial="private"
    )
    # Only for someone in a team (removed otherwise): which wallet pays, and which team sees a
    # generation visible to the team.
    charge_to = forms.ChoiceField(
        label="Charge to",
        required=False,
        error_messages={
            "invalid_choice": "You are not a member of a team “%(value)s” (any more): "
            "choose another wallet."
        },
    )
    share_with = forms.ChoiceField(
        label="Share with",
        required=False,
        help_text="Who sees it when it is visible to the team.",
    )

    def __init__(
        self,
        *args: Any,
        carried: Sequence[CarriedReference] = (),
        wallets: Sequence[WalletChoice] = (),
        model_ids: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.carried = list(carried)
        self.teams = {choice.slug: choice.team for choice in wallets if choice.team is not None}
        catalog = list_models()
        models = [(model.id, model.label) for model in catalog]
        choices_set(self.fields["model"], models)
        shown = models
        if model_ids is not None:
            # The list shows only what the chosen wallet's policy allows; the field still
            # accepts any catalog model, so a stale page's choice is refused by the submit
            # with the policy's own words ("Team Design's policy does not allow …").
            allowed = set(model_ids)
            shown = [choice for choice in models if choice[0] in allowed]
            self.fields["model"].widget.choices = shown  # type: ignore[attr-defined]
        chosen = self["model"].value()
        if chosen not in {model_id for model_id, _ in shown} and shown:
            chosen = shown[0][0]  # what the browser selects when the value is not listed
        by_id = {model.id: model for model in catalog}
        self.size_help = size_help(by_id[chosen]) if chosen in by_id else ""
        if self.teams:
            choices_set(
                self.fields["charge_to"], [(choice.slug, choice.label) for choice in wallets]
            )
            choices_set(
                self.fields["share_with"],
                [(SHARE_WITH_EVERYONE, "Everyone here")]
                + [(slug, f"Team {team}") for slug, team in self.teams.items()],
            )
        else:
            del self.fields["charge_to"]
            del self.fields["share_with"]
        choices_set(
            self.fields["aspect_ratio"],
            [("", "Default")] + [(ratio, ratio) for ratio in ASPECT_RATIOS],
        )
        choices_set(self.fields["carried_references"], [(ref.token, ref.label) for ref in carried])

    def carried_rows(self) -> list[tuple[CarriedReference, bool]]:
        """Each carried reference with whether its box is ticked, for the template."""
        chosen = set(self["carried_references"].value() or ())
        return [(ref, ref.token in chosen) for ref in self.carried]

    def carried_chosen(self) -> list[CarriedReference]:
        """The carried references the submitted form kept, in their shown order."""
        chosen = set(self.cleaned_data.get("carried_references") or ())
        return [ref for ref in self.carried if ref.token in chosen]

    def charge_to_slug(self) -> str:
        """The team slug to charge ("" for the user's own wallet)."""
        return self.cleaned_data.get("charge_to") or ""

    def shared_team(self) -> SharedTeam:
        """The team a team-visible generation is shown to (None: everyone here)."""
        if "share_with" not in self.fields:
            return WALLET_TEAM
        return self.teams.get(self.cleaned_data.get("share_with") or SHARE_WITH_EVERYONE)

    def to_spec(self) -> GenerationSpec:
        data = self.cleaned_data
        return GenerationSpec(
            model=data["model"],
            prompt=data["prompt"],
            size=data.get("size") or "",
            aspect_ratio=data.get("aspect_ratio") or "",
            num_images=data["num_images"],
            seed=data.get("seed"),
            guidance_scale=data.get("guidance_scale"),
        )


class GalleryFilterForm(forms.Form):
    """The gallery's filters, read from the query string (GET), so every view is a link."""

    q = forms.CharField(
        label="Search prompts",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search prompts…"}),
    )
    model = forms.ChoiceField(label="Model", required=False)
    status = forms.ChoiceField(label="Status", required=False)
    created_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    author = forms.TypedChoiceField(label="Made by", required=False, coerce=int, empty_value=None)
    starred = forms.BooleanField(label="Starred only", required=False)

    def __init__(self, *args: Any, tab: str, authors: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tab = tab
        choices_set(
            self.fields["model"],
            [("", "All models")] + [(model.id, model.label) for model in list_models()],
        )
        choices_set(self.fields["status"], [("", "Any status"), *Generation.Status.choices])
        if tab == GALLERY_TAB_TEAM:
            choices_set(
                self.fields["author"],
                [("", "Anyone")] + [(author.pk, author.get_username()) for author in authors],
            )
        else:
            # Everything on "mine" is by the viewer: a "made by" control would only confuse.
            del self.fields["author"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("created_from"), data.get("created_to")
        if isinstance(start, date) and isinstance(end, date) and start > end:
            self.add_error(
                "created_to",
                "The end date is before the start date, so nothing can match: swap the two dates.",
            )
            # Kept as asked: the list must come out empty, not fall back to every date.
            self.reversed_range = (start, end)
        return data

    reversed_range: tuple[date, date] | None = None

    def to_filters(self) -> GalleryFilters:
        """The valid filters; a field with an error filters nothing, except a reversed date
        range, which matches nothing (as it says)."""
        data: dict[str, Any] = {}
        if self.is_bound:
            self.is_valid()  # cleans the form; each valid field stays in cleaned_data
            data = self.cleaned_data
        created_to = data.get("created_to")
        if self.reversed_range is not None:
            created_to = self.reversed_range[1]
        return GalleryFilters(
            tab=self.tab,
            model=data.get("model") or "",
            status=data.get("status") or "",
            created_from=data.get("created_from"),
            created_to=created_to,
            author_id=data.get("author"),
            text=data.get("q") or "",
            starred=bool(data.get("starred")),
        )

    def is_filtered(self) -> bool:
        filters = self.to_filters()
        return filters != GalleryFilters(tab=self.tab)


class BoardForm(forms.Form):
    name = forms.CharField(label="Board name", max_length=100)
    shared = forms.BooleanField(
        label="Share with the team",
        required=False,
        help_text="Teammates can open it; they see only images already visible to them.",
    )
    # Only for someone in a team (removed otherwise): which team a shared board is shown to.
    share_with = forms.ChoiceField(label="Share with", required=False)

    def __init__(self, *args: Any, teams: Sequence[Team] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.teams = {team.slug: team for team in teams}
        if self.teams:
            choices_set(
                self.fields["share_with"],
                [(SHARE_WITH_EVERYONE, "Everyone here")]
                + [(slug, f"Team {team}") for slug, team in self.teams.items()],
            )
        else:
            del self.fields["share_with"]

    def visibility(self) -> str:
        return Board.Visibility.TEAM if self.cleaned_data["shared"] else Board.Visibility.PRIVATE

    def team(self) -> Team | None:
        """The team a shared board is shown to; None: everyone here."""
        return self.teams.get(self.cleaned_data.get("share_with") or SHARE_WITH_EVERYONE)


class BoardAddForm(forms.Form):
    """Put a generation (or one image of it) on one of the user's boards, or on a new one."""

    board = forms.TypedChoiceField(
        label="Board",
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "Pick one of your own boards."},
    )
    new_board_name = forms.CharField(label="New board name", required=False, max_length=100)
    output = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, boards: Sequence[Board] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices_set(
            self.fields["board"],
            [(board.pk, board.name) for board in boards] + [("", "New board…")],
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("board") is None and not (data.get("new_board_name") or "").strip():
            self.add_error("new_board_name", "Pick a board or name a new one.")
        return data
