"""Invite people from the shell: ``manage.py invite ana@example.com bo@example.com --credits 500``
(``--team design --role member``: each new account joins the team on acceptance).

Each address gets a mail with a link to choose a username and password (``INVITE_TTL_DAYS``);
the links point at ``PUBLIC_BASE_URL``. Recorded with no actor: the shell has no signed-in user.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from accounts.models import Membership
from accounts.services.invitations import InvitationError, invitations_create
from accounts.services.teams import TeamNotFound, team_by_slug


class Command(BaseCommand):
    help = "Invite EMAIL... by mail; each accepted invitation makes an account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("emails", nargs="+", metavar="EMAIL")
        parser.add_argument("--staff", action="store_true", help="The new accounts are staff.")
        parser.add_argument(
            "--credits", type=int, default=0, help="Credits each account gets on acceptance."
        )
        parser.add_argument(
            "--team", default="", metavar="SLUG", help="Each account joins this team on acceptance."
        )
        parser.add_argument(
            "--role",
            default=Membership.Role.MEMBER,
            choices=Membership.Role.values,
            help="Its role in the team (default: member).",
        )

    def handle(
        self,
        *args: Any,
        emails: list[str],
        staff: bool,
        credits: int,
        team: str,
        role: str,
        **options: Any,
    ) -> None:
        for email in emails:
            try:
                validate_email(email)
            except ValidationError:
                raise CommandError(f"Not an email address: {email}. Nobody was invited.") from None
        if role != Membership.Role.MEMBER and not team:
            raise CommandError("--role is the role in a team: give --team too. Nobody was invited.")
        try:
            joins = team_by_slug(team) if team else None
        except TeamNotFound as error:
            raise CommandError(f"{error} Nobody was invited.") from error
        try:
            outcomes = invitations_create(
                emails=emails,
                invited_by=None,
                is_staff=staff,
                credits=credits,
                team=joins,
                team_role=role,
                base_url=settings.PUBLIC_BASE_URL,
            )
        except InvitationError as error:
            raise CommandError(f"{error} Nobody was invited.") from error
        for outcome in outcomes:
            if outcome.invitation is not None:
                self.stdout.write(f"Invited {outcome.email}")
            else:
                self.stderr.write(f"Not invited: {outcome.email} {outcome.refused}")
        if not any(outcome.invitation for outcome in outcomes):
            raise CommandError("Nobody was invited.")
