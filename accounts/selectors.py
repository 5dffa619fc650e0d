"""Reads of keys and credits, shaped for the account pages. Nothing here writes."""

from dataclasses import dataclass

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from allauth.socialaccount.models import SocialAccount
from django.db.models import Exists, OuterRef, QuerySet, Subquery

from .models import ApiKey, CreditAccount, CreditEntry, Membership, User


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
