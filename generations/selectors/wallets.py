"""The wallets the compose page offers to charge: the user's own and each of their teams'."""

from dataclasses import dataclass

from django.db.models import Q

from accounts.models import CreditAccount, Team, User


@dataclass(frozen=True)
class WalletChoice:
    """One "Charge to" option. ``slug`` is what the form posts: "" for the user's own wallet,
    else the team's slug (what ``wallet_for_request(team_slug=…)`` takes)."""

    slug: str
    wallet: CreditAccount

    @property
    def team(self) -> Team | None:
        return self.wallet.team if self.wallet.team_id is not None else None

    @property
    def name(self) -> str:
        return f"Team {self.wallet.team}" if self.wallet.team_id is not None else "My wallet"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.wallet.available:,} credits)"


def wallet_choices_get(*, user: User) -> list[WalletChoice]:
    """The user's own wallet first, then their teams' by name; one query.

    A user whose own wallet was never made gets an unsaved empty one: reading the page must not
    write, and the credit service makes it on the first change.
    """
    wallets = list(
        CreditAccount.objects.filter(Q(user=user) | Q(team__memberships__user=user))
        .select_related("team")
        .order_by("team__name", "team_id")
    )
    own = next((wallet for wallet in wallets if wallet.user_id == user.pk), None)
    if own is None:
        own = CreditAccount(user=user, available=0, held=0)
    teams = [
        WalletChoice(slug=wallet.team.slug, wallet=wallet) for wallet in wallets if wallet.team
    ]
    return [WalletChoice(slug="", wallet=own), *teams]


def wallet_choice_find(choices: list[WalletChoice], slug: str | None) -> WalletChoice:
    """The choice posted as ``slug``; the user's own wallet for anything else (a team they have
    left, a slug that was never theirs)."""
    return next((choice for choice in choices if choice.slug == (slug or "")), choices[0])
