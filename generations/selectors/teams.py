"""Teams as the team pages show them: who may see which, their members, budgets and wallets."""

from dataclasses import dataclass

from django.db.models import OuterRef, Q, Subquery

from accounts.models import Budget, CreditAccount, Membership, Team, User


@dataclass(frozen=True)
class TeamListRow:
    team: Team
    wallet: CreditAccount | None
    role: str  # the viewer's role; "" for staff who are not members


def team_list_for(*, user: User) -> list[TeamListRow]:
    """The teams ``user`` belongs to (staff: every team), with wallet and role: one query."""
    teams = Team.objects.select_related("wallet").annotate(
        viewer_role=Subquery(
            Membership.objects.filter(team=OuterRef("pk"), user=user).values("role")[:1]
        )
    )
    if not user.is_staff:
        teams = teams.filter(memberships__user=user)
    return [
        TeamListRow(team=team, wallet=getattr(team, "wallet", None), role=team.viewer_role or "")
        for team in teams.order_by("name", "id")
    ]


@dataclass(frozen=True)
class TeamView:
    team: Team
    wallet: CreditAccount | None
    membership: Membership | None  # the viewer's; None for staff who are not members

    @property
    def role(self) -> str:
        return self.membership.role if self.membership is not None else ""


def team_get_visible(*, user: User, slug: str) -> TeamView | None:
    """The team at ``slug`` if ``user`` is a member or staff; anyone else sees no team at all."""
    team = Team.objects.select_related("wallet").filter(slug=slug).first()
    if team is None:
        return None
    membership = Membership.objects.filter(team=team, user=user).first()
    if membership is None and not user.is_staff:
        return None
    return TeamView(team=team, wallet=getattr(team, "wallet", None), membership=membership)


ROLE_ORDER = {role: index for index, role in enumerate(Membership.Role.values)}


def team_members(*, team: Team) -> list[Membership]:
    """Owners first, then managers, then members; each by name."""
    memberships = Membership.objects.filter(team=team).select_related("user")
    return sorted(
        memberships,
        key=lambda one: (ROLE_ORDER.get(one.role, 99), one.user.get_username().lower()),
    )


def team_budgets(*, team: Team) -> list[Budget]:
    """The team's budget (first) and its members' budgets, by member name."""
    budgets = Budget.objects.filter(team=team).select_related("team", "user")
    return sorted(
        budgets,
        key=lambda budget: (
            budget.scope != Budget.Scope.TEAM,
            budget.user.get_username().lower() if budget.user is not None else "",
        ),
    )


def user_by_name_or_email(value: str) -> User | None:
    """The active user with this username or email address (either, case-insensitively)."""
    value = value.strip()
    if not value:
        return None
    matches = list(
        User.objects.filter(Q(username__iexact=value) | Q(email__iexact=value), is_active=True)[:2]
    )
    # Two accounts sharing an email address: only the username tells them apart.
    exact = [user for user in matches if user.get_username().lower() == value.lower()]
    if exact:
        return exact[0]
    return matches[0] if len(matches) == 1 else None
