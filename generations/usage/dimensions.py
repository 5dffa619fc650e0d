"""The ways the usage report can group generations, and how each group is named and found again.

A dimension gives, for one group key, three things that must agree: the SQL expression that
computes the key (on ``Generation`` rows or on rows that point to one), its label for people,
and the filters of the Generation admin changelist that list exactly that group's generations
(the drill-down). Keeping the three together is what keeps a figure and its drill-down equal.

A generation counts for the provider account of its *last* attempt: the one that delivered its
images or gave up. Failed-over attempts at other accounts show on the provider health page.
"""

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import Combinable
from django.utils import timezone

from accounts.models import ApiKey, CreditAccount, Team, User
from generations.catalog import list_models
from generations.models import Generation, ProviderAccount, ProviderAttempt
from generations.usage.expressions import DayOf

# Changelist parameters of the Generation admin (generations.admin_filters names them too).
PARAM_OWNER = "owner__id__exact"
PARAM_API_KEY = "api_key"
PARAM_MODEL = "model"
PARAM_SERVED_BY = "served_by"
PARAM_CREATED_FROM = "created_at__gte"
PARAM_CREATED_BEFORE = "created_at__lt"
PARAM_TEAM = "team"  # generations.usage.filters.TeamFilter
PARAM_WALLET = "wallet__id__exact"
# The value of PARAM_API_KEY / PARAM_SERVED_BY for "no key" (browser) / "no provider call".
NONE_VALUE = "none"


@dataclass(frozen=True)
class Source:
    """Where the generation is, seen from the rows being grouped.

    ``Source.GENERATION`` groups ``Generation`` rows; ``Source.RELATED`` groups rows with a
    ``generation`` foreign key (outputs, ledger entries, attempts).
    """

    path: str  # prefix to a Generation field: "" or "generation__"
    id_path: str  # the generation's id: "pk" or "generation_id"


GENERATION_SOURCE = Source(path="", id_path="pk")
RELATED_SOURCE = Source(path="generation__", id_path="generation_id")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Start of ``day`` and of the next, in the site's time zone (where TruncDate cuts days)."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def _later_attempt(*, generation: str, attempt: str) -> Exists:
    """An attempt of the same generation made after ``attempt`` (both outer references)."""
    return Exists(
        ProviderAttempt.objects.filter(generation_id=OuterRef(generation), id__gt=OuterRef(attempt))
    )


def generations_served_by(
    queryset: QuerySet[Generation], account_id: int | None
) -> QuerySet[Generation]:
    """Generations whose last attempt went to ``account_id``; ``None``: no attempt at all."""
    if account_id is None:
        return queryset.filter(~Exists(ProviderAttempt.objects.filter(generation=OuterRef("pk"))))
    # An IN over the account's last attempts, computed once: as a correlated EXISTS per
    # generation, SQLite probed the account's attempts for each of 100,000 generations.
    last_there = ProviderAttempt.objects.filter(account_id=account_id).filter(
        ~_later_attempt(generation="generation_id", attempt="id")
    )
    return queryset.filter(pk__in=last_there.values("generation_id"))


class Dimension:
    name: str
    label: str

    def key(self, source: Source) -> Combinable:
        raise NotImplementedError

    def helpers(self, source: Source) -> dict[str, Combinable]:
        """Annotations ``restriction`` refers to."""
        return {}

    def restriction(self, source: Source) -> Q | None:
        """A filter the grouping needs (keeping one joined row per generation)."""
        return None

    def labels(self, keys: Iterable[Hashable]) -> dict[Hashable, str]:
        """Human names for ``keys`` (at most one query)."""
        return {key: str(key) for key in keys}

    def drilldown(self, key: Hashable) -> dict[str, str]:
        """Generation changelist parameters selecting this group's generations."""
        raise NotImplementedError

    def parse_raw(self, raw: Any) -> Hashable:
        """The key as Django returns it, from the value a plain cursor read."""
        return raw

    def sort_value(self, key: Hashable, label: str) -> tuple[int, str]:
        # Missing keys ("no API key") sort last; the rest by their label.
        return (key is None, label.lower())


class UserDimension(Dimension):
    name, label = "user", "User"

    def key(self, source: Source) -> Combinable:
        return F(f"{source.path}owner_id")

    def labels(self, keys: Iterable[Hashable]) -> dict[Hashable, str]:
        ids = [key for key in keys if isinstance(key, int)]
        return dict(User.objects.filter(pk__in=ids).values_list("pk", "username"))

    def drilldown(self, key: Hashable) -> dict[str, str]:
        return {PARAM_OWNER: str(key)}


class TeamDimension(Dimension):
    """The team whose wallet paid; ``None``: a personal wallet."""

    name, label = "team", "Team"

    def key(self, source: Source) -> Combinable:
        return F(f"{source.path}wallet__team_id")

    def labels(self, keys: Iterable[Hashable]) -> dict[Hashable, str]:
        ids = [key for key in keys if isinstance(key, int)]
        found: dict[Hashable, str] = dict(Team.objects.filter(pk__in=ids).values_list("pk", "name"))
        found[None] = "personal wallets"
        return found

    def drilldown(self, key: Hashable) -> dict[str, str]:
        return {PARAM_TEAM: NONE_VALUE if key is None else str(key)}


class WalletDimension(Dimension):
    """The wallet charged: a user's own or a team's (every generation has one)."""

    name, label = "wallet", "Wallet"

    def key(self, source: Source) -> Combinable:
        return F(f"{source.path}wallet_id")

    def labels(self, keys: Iterable[Hashable]) -> dict[Hashable, str]:
        ids = [key for key in keys if isinstance(key, int)]
        return {
            pk: f"Team {team}" if team is not None else f"{username} (own)"
            for pk, team, username in CreditAccount.objects.filter(pk__in=ids).values_list(
                "pk", "team__name", "user__username"
            )
        }

    def drilldown(self, key: Hashable) -> dict[str, str]:
        return {PARAM_WALLET: str(key)}


class ApiKeyDimension(Dimension):
    name, label = "api_key", "API key"

    def key(self, source: Source) -> Combinable:
        return F(f"{source.path}api_key_id")

    def labels(self, keys: Iterable[Hashable]) -> dict[Hashable, str]:
        ids = [key for key in keys if isinstance(key, int)]
        found: dict[Hashable, str] = {
            pk: f"{name} ({prefix}…, {username})"
            for pk, name, prefix, username in ApiKey.objects.filter(pk__in=ids).values_list(
                "pk", "name", "prefix", "user__username"
            )
        }
        found[None] = "no key (browser)"
        return found

    def drilldown(self, key: Hashable) -> dict[str, str]:
        return {PARAM_API_KEY: NONE_VALUE if key is None else str(key)}


class ModelDimension(Dimension):
    name, label = "model", "Model"

    def key(self, source: Source) -> Combinable:
        return F(f"{source.path}model")

    def labels(self, keys: Iterable[Hashable]) -> dict[Hashable, str]:
        catalog = {model.id: model.label for model in list_models()}
        return {key: catalog.get(str(key), str(key)) for key in keys}

    def drilldown(self, key: Hashable) -> dict[str, str]:
        return {PARAM_MODEL: str(key)}


def account_label_with_kind(label: str, kind: str) -> str:
    """``label (kind)``, unless the label already names its kind ("Demo renderer (local)")."""
    return label if f"({kind})" in label else f"{label} ({kind})"


class ProviderAccountDimension(Dimension):
    name, label = "provider_account", "Provider account"

    # A join to the generation's attempts keeping only the last one (no later attempt exists)
    # or none at all: databases run this as one anti-join, where a subquery per generation
    # took seconds on 100,000 rows.
    def key(self, source: Source) -> Combinable:
        return F(f"{source.path}attempts__account_id")

    def helpers(self, source: Source) -> dict[str, Combinable]:
        return {"_served_attempt": F(f"{source.path}attempts__id")}

    def restriction(self, source: Source) -> Q | None:
        # A generation without attempts joins one NULL attempt, and "a later attempt than
        # NULL" never exists, so it stays without an OR (which would stop the anti-join).
        return Q(~_later_attempt(generation=source.id_path, attempt="_served_attempt"))

    def labels(self, keys: Iterable[Hashable]) -> dict[Hashable, str]:
        ids = [key for key in keys if isinstance(key, int)]
        found: dict[Hashable, str] = {
            pk: account_label_with_kind(label, kind)
            for pk, label, kind in ProviderAccount.objects.filter(pk__in=ids).values_list(
                "pk", "label", "kind"
            )
        }
        found[None] = "no provider call"
        return found

    def drilldown(self, key: Hashable) -> dict[str, str]:
        return {PARAM_SERVED_BY: NONE_VALUE if key is None else str(key)}


class DayDimension(Dimension):
    name, label = "day", "Day"

    def key(self, source: Source) -> Combinable:
        return DayOf(f"{source.path}created_at")

    def labels(self, keys: Iterable[Hashable]) -> dict[Hashable, str]:
        return {key: key.isoformat() if isinstance(key, date) else str(key) for key in keys}

    def drilldown(self, key: Hashable) -> dict[str, str]:
        assert isinstance(key, date)
        start, end = day_bounds(key)
        return {PARAM_CREATED_FROM: start.isoformat(), PARAM_CREATED_BEFORE: end.isoformat()}

    def parse_raw(self, raw: Any) -> Hashable:
        return date.fromisoformat(raw) if isinstance(raw, str) else raw

    def sort_value(self, key: Hashable, label: str) -> tuple[int, str]:
        return (0, label)  # ISO dates sort as text


DIMENSIONS: Mapping[str, Dimension] = {
    dimension.name: dimension
    for dimension in (
        UserDimension(),
        TeamDimension(),
        WalletDimension(),
        ApiKeyDimension(),
        ModelDimension(),
        ProviderAccountDimension(),
        DayDimension(),
    )
}
