"""Teams from the shell.

    manage.py team create "Design" [--slug design]
    manage.py team add-member design alice [--role manager]
    manage.py team remove-member design alice
    manage.py team grant design 50000 --memo "December budget" [--idempotency-key K]
    manage.py team budget design 50000 [--period month] [--member alice | --key PREFIX]
    manage.py team allowance design 20000 [--period month] [--policy top_up|add] [--stop]

Changes are recorded with no actor (the shell has no logged-in user).
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import Allowance, ApiKey, Budget, Period, Team, User
from accounts.services.allowances import RECURRING_PERIODS, allowance_remove, allowance_set
from accounts.services.budget_admin import budget_set
from accounts.services.credits import LedgerError, credits_grant, team_wallet_for
from accounts.services.teams import ROLES, team_create, team_member_remove, team_member_set
from studio_core.errors import ServiceError


class Command(BaseCommand):
    help = "Create teams, manage their members, grant them credits and set their budgets."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a team (with its wallet).")
        create.add_argument("name")
        create.add_argument("--slug", default="", help="Its address: /teams/<slug>/.")
        add = actions.add_parser("add-member", help="Add a member, or change their role.")
        add.add_argument("team", help="The team's slug.")
        add.add_argument("username")
        add.add_argument("--role", choices=ROLES, default="member")
        remove = actions.add_parser("remove-member", help="Remove a member.")
        remove.add_argument("team")
        remove.add_argument("username")
        grant = actions.add_parser("grant", help="Grant credits to the team's wallet.")
        grant.add_argument("team")
        grant.add_argument("amount", type=int)
        grant.add_argument("--memo", required=True, help="Why: kept in the ledger and audit.")
        grant.add_argument("--idempotency-key", default=None)
        budget = actions.add_parser(
            "budget", help="Set the team's budget (or a member's, or a team key's)."
        )
        budget.add_argument("team")
        budget.add_argument("limit", type=int, help="Credits per period.")
        budget.add_argument("--period", choices=Period.values, default=Period.MONTH)
        target = budget.add_mutually_exclusive_group()
        target.add_argument("--member", help="A member's username: their budget in the team.")
        target.add_argument("--key", help="The prefix of an API key bound to the team.")
        allowance = actions.add_parser(
            "allowance", help="Give the team's wallet a recurring grant (or stop it: --stop)."
        )
        allowance.add_argument("team")
        allowance.add_argument("amount", type=int, nargs="?", help="Credits per period.")
        allowance.add_argument("--period", choices=RECURRING_PERIODS, default=Period.MONTH)
        allowance.add_argument(
            "--policy",
            choices=Allowance.Policy.values,
            default=Allowance.Policy.ADD,
            help="top_up: bring the balance up to the amount; add: add the amount.",
        )
        allowance.add_argument("--stop", action="store_true", help="Remove the allowance.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            getattr(self, "_" + action.replace("-", "_"))(**options)
        except (ServiceError, ValueError, LedgerError) as error:
            raise CommandError(f"{error} Nothing was changed.") from error

    def _create(self, *, name: str, slug: str, **options: Any) -> None:
        team = team_create(name=name, slug=slug, actor=None)
        self.stdout.write(f"Created team {team.name} at /teams/{team.slug}/.")

    def _add_member(self, *, team: str, username: str, role: str, **options: Any) -> None:
        membership = team_member_set(team=_team(team), user=_user(username), role=role, actor=None)
        self.stdout.write(f"{username} is {membership.role} of team {membership.team.name}.")

    def _remove_member(self, *, team: str, username: str, **options: Any) -> None:
        found = _team(team)
        team_member_remove(team=found, user=_user(username), actor=None)
        self.stdout.write(f"{username} is no longer a member of team {found.name}.")

    def _grant(
        self, *, team: str, amount: int, memo: str, idempotency_key: str | None, **options: Any
    ) -> None:
        found = _team(team)
        started_at = timezone.now()
        entry = credits_grant(
            wallet=team_wallet_for(found),
            amount=amount,
            actor=None,
            memo=memo,
            idempotency_key=idempotency_key,
        )
        if entry.created_at < started_at:
            self.stdout.write(
                f"Already granted with this idempotency key (ledger entry {entry.pk}); "
                "nothing more was granted."
            )
        else:
            self.stdout.write(f"Granted {amount:,} credits to team {found.name}.")
        self.stdout.write(f"Available balance after the grant: {entry.available_after:,}")

    def _budget(
        self,
        *,
        team: str,
        limit: int,
        period: str,
        member: str | None,
        key: str | None,
        **options: Any,
    ) -> None:
        found = _team(team)
        if member:
            target: dict[str, Any] = {"scope": Budget.Scope.MEMBER, "team": found}
            target["user"] = _user(member)
        elif key:
            api_key = ApiKey.objects.filter(prefix=key, team=found).first()
            if api_key is None:
                raise CommandError(f'No API key with prefix "{key}" is bound to team {found}.')
            target = {"scope": Budget.Scope.KEY, "api_key": api_key}
        else:
            target = {"scope": Budget.Scope.TEAM, "team": found}
        budget = budget_set(**target, limit=limit, period=period, actor=None)
        self.stdout.write(f"Set: {budget}.")

    def _allowance(
        self, *, team: str, amount: int | None, period: str, policy: str, stop: bool, **options: Any
    ) -> None:
        found = _team(team)
        wallet = team_wallet_for(found)
        if stop:
            existing = Allowance.objects.filter(wallet=wallet).first()
            if existing is None:
                raise CommandError(f"Team {found} has no allowance to stop.")
            allowance_remove(allowance=existing, actor=None)
            self.stdout.write(f"Stopped the allowance of team {found.name}.")
            return
        if amount is None:
            raise CommandError("Give the amount of credits per period (or --stop).")
        allowance = allowance_set(
            wallet=wallet, amount=amount, period=period, policy=policy, actor=None
        )
        self.stdout.write(
            f"Set: {allowance} for team {found.name}. The scheduler grants the current "
            "period's within the hour, and each next period's at its start."
        )


def _team(slug: str) -> Team:
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise CommandError(f'There is no team "{slug}".')
    return team


def _user(username: str) -> User:
    try:
        return User.objects.get_by_natural_key(username)
    except User.DoesNotExist:
        raise CommandError(f'There is no user "{username}".') from None
