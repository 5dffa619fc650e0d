"""Reads of keys, credits and budget notices, shaped for the pages. Nothing here writes."""

import datetime
from dataclasses import dataclass

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from allauth.socialaccount.models import SocialAccount
from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import (
    ApiKey,
    Budget,
    BudgetAlert,
    CreditAccount,
    CreditEntry,
    Membership,
    Period,
    User,
)
from .services.budget_alerts import BudgetAlertNotice, budget_alert_notice
from .services.budgets import period_bounds


@dataclass(frozen=True)
class CreditBalance:
    available: int
    held: int


def api_key_list(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user).order_by("-created_at", "-id")


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


def credit_entry_list(*, user: User) -> QuerySet[CreditEntry]:
    """The user's ledger, newest first, with what each row links to joined in."""
    return (
        CreditEntry.objects.filter(account__user=user)
        .select_related("generation", "actor")
        .order_by("-created_at", "-id")
    )


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
