"""Reads of keys, credits, budgets and budget notices, shaped for the pages. Nothing here
writes."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from allauth.socialaccount.models import SocialAccount
from django.db.models import (
    BigIntegerField,
    CharField,
    DateTimeField,
    Exists,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate

from .models import (
    ApiKey,
    Budget,
    BudgetAlert,
    CreditAccount,
    CreditEntry,
    Membership,
    Period,
    Team,
    User,
)
from .services.budget_alerts import BudgetAlertNotice, budget_alert_notice
from .services.budgets import BudgetStanding, budget_standings, period_bounds


@dataclass(frozen=True)
class CreditBalance:
    available: int
    held: int


def api_key_list(*, user: User) -> QuerySet[ApiKey]:
    """The user's keys with the team each charges and its budget (``budgets``, at most one)."""
    return (
        ApiKey.objects.filter(user=user)
        .select_related("team")
        .prefetch_related(Prefetch("budgets", queryset=Budget.objects.filter(scope="key")))
        .order_by("-created_at", "-id")
    )


def api_key_get_manageable(*, user: User, api_key_id: int) -> ApiKey | None:
    """The key if ``user`` may change its limits: its owner's, or any key for staff; another
    user's key reads as missing."""
    keys = ApiKey.objects.select_related("team", "user")
    if not user.is_staff:
        keys = keys.filter(user=user)
    return keys.filter(pk=api_key_id).first()


def api_key_budget_standing(*, api_key: ApiKey) -> BudgetStanding | None:
    budget = Budget.objects.filter(scope=Budget.Scope.KEY, api_key=api_key).first()
    return budget_standings([budget])[0] if budget is not None else None


def personal_budget_standing(*, user: User) -> BudgetStanding | None:
    """The user's personal budget (generations charged to their own wallet) this period."""
    budget = Budget.objects.filter(scope=Budget.Scope.USER, user=user).first()
    return budget_standings([budget])[0] if budget is not None else None


@dataclass(frozen=True)
class TeamStanding:
    """One of a user's teams as their credits page shows it."""

    team: Team
    role: str
    balance: CreditBalance
    team_budget: BudgetStanding | None
    member_budget: BudgetStanding | None


def team_standings_of(*, user: User) -> list[TeamStanding]:
    """The user's teams, each with its wallet's balance, the team's budget and the user's own
    budget in it this period: at most three queries however many teams."""
    memberships = list(
        Membership.objects.filter(user=user)
        .select_related("team__wallet")
        .order_by("team__name", "team_id")
    )
    if not memberships:
        return []
    team_ids = [membership.team_id for membership in memberships]
    budgets = list(
        Budget.objects.filter(
            Q(scope=Budget.Scope.TEAM) | Q(scope=Budget.Scope.MEMBER, user=user),
            team_id__in=team_ids,
        ).select_related("team", "user")
    )
    by_target = {
        (standing.budget.scope, standing.budget.team_id): standing
        for standing in budget_standings(budgets)
    }
    standings = []
    for membership in memberships:
        team = membership.team
        wallet = getattr(team, "wallet", None)
        balance = CreditBalance(wallet.available, wallet.held) if wallet else CreditBalance(0, 0)
        standings.append(
            TeamStanding(
                team=team,
                role=membership.get_role_display(),
                balance=balance,
                team_budget=by_target.get((Budget.Scope.TEAM, team.pk)),
                member_budget=by_target.get((Budget.Scope.MEMBER, team.pk)),
            )
        )
    return standings


def api_key_get_owned(*, user: User, api_key_id: int) -> ApiKey | None:
    """The key only if ``user`` owns it, so another user's key id reads as missing."""
    return ApiKey.objects.filter(user=user, id=api_key_id).first()


def credit_balance_get(*, user: User) -> CreditBalance:
    """One query; a user whose account has not been created yet has a zero balance.

    Reading must not create the account: a GET stays free of writes, and the credits service
    creates it under its own lock on the first change.
    """
    row = CreditAccount.objects.filter(user=user).values_list("available", "held").first()
    return CreditBalance(available=row[0], held=row[1]) if row else CreditBalance(0, 0)


@dataclass(frozen=True)
class TopBar:
    available: int
    in_a_team: bool


def top_bar_get(*, user: User) -> TopBar:
    """What every page's top bar shows of the user, in one query: the balance of their own
    wallet (zero before it exists, as ``credit_balance_get``) and whether they are in a team."""
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            own_available=Subquery(
                CreditAccount.objects.filter(user=OuterRef("pk")).values("available")[:1]
            ),
            in_a_team=Exists(Membership.objects.filter(user=OuterRef("pk"))),
        )
        .values_list("own_available", "in_a_team")
        .first()
    )
    if row is None:
        return TopBar(available=0, in_a_team=False)
    return TopBar(available=row[0] or 0, in_a_team=bool(row[1]))


LEDGER_KIND_ALL = "all"
LEDGER_KIND_GENERATIONS = "generations"
LEDGER_KIND_GRANTS = "grants"


@dataclass(frozen=True)
class LedgerFilters:
    """What the credits page's history shows: which lines, and the days (both inclusive)."""

    kind: str = LEDGER_KIND_ALL
    start: datetime.date | None = None
    end: datetime.date | None = None


# The columns of a history line, in this order in both halves of the union.
LEDGER_LINE_COLUMNS = (
    "line_generation",
    "line_prompt",
    "line_model",
    "line_deleted_at",
    "line_kind",
    "line_memo",
    "line_actor",
    "line_at",
    "line_key",
    "line_amount",
    "line_held",
    "line_charged",
    "line_returned",
    "line_available_after",
)


def _ledger_dates(queryset: QuerySet[Any], field: str, filters: LedgerFilters) -> QuerySet[Any]:
    if filters.start is not None:
        queryset = queryset.filter(**{f"{field}__date__gte": filters.start})
    if filters.end is not None:
        queryset = queryset.filter(**{f"{field}__date__lte": filters.end})
    return queryset


def credit_history_list(*, user: User, filters: LedgerFilters) -> QuerySet[Any]:
    """The user's own ledger as people read it, newest first: one line per generation (what
    was held, then charged, then returned, and the net change) and one per grant or
    adjustment. Rows are dicts with ``LEDGER_LINE_COLUMNS``; counting and one page of them
    are one query each, however many entries a generation has.

    A generation's line is dated by the generation (when it was asked for, and held), so a
    late capture or refund stays on that day.
    """
    entries = CreditEntry.objects.filter(account__user=user).order_by()
    Kind = CreditEntry.Kind
    last_after = (
        CreditEntry.objects.filter(account_id=OuterRef("account_id"))
        .filter(generation_id=OuterRef("line_generation"))
        .order_by("-id")
        .values("available_after")[:1]
    )
    generation_lines = (
        _ledger_dates(entries.filter(generation__isnull=False), "generation__created_at", filters)
        .values("account_id")
        .annotate(
            line_generation=F("generation_id"),
            line_prompt=F("generation__prompt"),
            line_model=F("generation__model"),
            line_deleted_at=F("generation__deleted_at"),
            line_at=F("generation__created_at"),
        )
        .annotate(
            line_kind=Value("generation", output_field=CharField()),
            line_memo=Value("", output_field=CharField()),
            line_actor=Value(None, output_field=CharField()),
            line_key=Max("id"),
            line_amount=Sum("amount"),
            line_held=Coalesce(Sum("held_change", filter=Q(kind=Kind.HOLD)), 0),
            line_charged=Coalesce(Sum(-F("held_change"), filter=Q(kind=Kind.CAPTURE)), 0),
            line_returned=Coalesce(
                Sum("amount", filter=Q(kind__in=[Kind.RELEASE, Kind.REFUND])), 0
            ),
            line_available_after=Subquery(last_after),
        )
        .values(*LEDGER_LINE_COLUMNS)
    )
    other_lines = (
        _ledger_dates(entries.filter(generation__isnull=True), "created_at", filters)
        .annotate(
            line_generation=F("generation_id"),
            line_prompt=Value(None, output_field=CharField()),
            line_model=Value(None, output_field=CharField()),
            line_deleted_at=Value(None, output_field=DateTimeField()),
            line_kind=F("kind"),
            line_memo=F("memo"),
            line_actor=F("actor__username"),
            line_at=F("created_at"),
            line_key=F("id"),
            line_amount=F("amount"),
            line_held=Value(0, output_field=BigIntegerField()),
            line_charged=Value(0, output_field=BigIntegerField()),
            line_returned=Value(0, output_field=BigIntegerField()),
            line_available_after=F("available_after"),
        )
        .values(*LEDGER_LINE_COLUMNS)
    )
    if filters.kind == LEDGER_KIND_GENERATIONS:
        lines = generation_lines
    elif filters.kind == LEDGER_KIND_GRANTS:
        lines = other_lines
    else:
        lines = generation_lines.union(other_lines, all=True)
    return lines.order_by("-line_at", "-line_key")


@dataclass(frozen=True)
class DayTotal:
    spent: int  # credits generations of that day cost in the end (held less returned)
    added: int  # grants and adjustments (an adjustment may take credits away)


def credit_day_totals(
    *, user: User, filters: LedgerFilters, days: Iterable[datetime.date]
) -> dict[datetime.date, DayTotal]:
    """For each of ``days`` (local dates), what the history's lines of that day add up to,
    over every line of the day and not only those on one page: one query."""
    wanted = list(days)
    if not wanted:
        return {}
    entries = CreditEntry.objects.filter(account__user=user).order_by()
    if filters.kind == LEDGER_KIND_GENERATIONS:
        entries = entries.filter(generation__isnull=False)
    elif filters.kind == LEDGER_KIND_GRANTS:
        entries = entries.filter(generation__isnull=True)
    rows = (
        entries.annotate(day=TruncDate(Coalesce("generation__created_at", "created_at")))
        .filter(day__in=wanted)
        .values("day")
        .annotate(
            spent=Coalesce(Sum("amount", filter=Q(generation__isnull=False)), 0),
            added=Coalesce(Sum("amount", filter=Q(generation__isnull=True)), 0),
        )
    )
    return {row["day"]: DayTotal(spent=-row["spent"], added=row["added"]) for row in rows}


def user_has_mfa(*, user: User) -> bool:
    """An authenticator app (or a security key) is on; recovery codes alone do not count."""
    return is_mfa_enabled(user)


def user_sso_on() -> Exists:
    """Whether a user has signed in through single sign-on (a linked identity), as an
    annotation of a user queryset."""
    return Exists(SocialAccount.objects.filter(user=OuterRef("pk")))


def user_mfa_on() -> Exists:
    """``user_has_mfa`` as an annotation of a user queryset: one subquery, not a query a row."""
    return Exists(
        Authenticator.objects.filter(
            user=OuterRef("pk"),
            type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN],
        )
    )


def budget_notices_for(user: User, at: datetime.datetime | None = None) -> list[BudgetAlertNotice]:
    """The alerts of the current periods of the budgets that concern ``user``: their teams'
    budgets, their own budgets in those teams, their keys' and their personal one. One per
    budget (its highest threshold crossed), with what is spent now; one query.
    """
    if user is None or not user.is_authenticated:
        return []
    # Every budget of one kind of period is in the same period now.
    current = Q(pk=None)
    for period in Period.values:
        start = period_bounds(period, at).start
        current |= Q(spend__budget__period=period, spend__period_start=start)
    concerning = (
        Q(
            spend__budget__scope=Budget.Scope.TEAM,
            spend__budget__team__in=Membership.objects.filter(user=user).values("team"),
        )
        | Q(
            spend__budget__scope__in=[Budget.Scope.MEMBER, Budget.Scope.USER],
            spend__budget__user=user,
        )
        | Q(spend__budget__scope=Budget.Scope.KEY, spend__budget__api_key__user=user)
    )
    alerts = (
        BudgetAlert.objects.filter(current, concerning)
        .select_related("spend__budget__team", "spend__budget__user", "spend__budget__api_key")
        .order_by("spend__budget_id", "-threshold")
    )
    notices: dict[int, BudgetAlertNotice] = {}
    for alert in alerts:
        budget_id = alert.spend.budget_id
        if budget_id not in notices:
            notices[budget_id] = budget_alert_notice(
                alert=alert, viewer=user, spent=alert.spend.spent
            )
    return list(notices.values())
