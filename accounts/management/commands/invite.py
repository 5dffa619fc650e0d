"""Invite people from the shell: ``manage.py invite ana@example.com bo@example.com --credits 500``.

Each address gets a mail with a link to choose a username and password (``INVITE_TTL_DAYS``);
the links point at ``PUBLIC_BASE_URL``. Recorded with no actor: the shell has no signed-in user.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from accounts.services.invitations import InvitationError, invitations_create


class Command(BaseCommand):
    help = "Invite EMAIL... by mail; each accepted invitation makes an account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("emails", nargs="+", metavar="EMAIL")
        parser.add_argument("--staff", action="store_true", help="The new accounts are staff.")
        parser.add_argument(
            "--credits", type=int, default=0, help="Credits each account gets on acceptance."
        )

    def handle(
        self, *args: Any, emails: list[str], staff: bool, credits: int, **options: Any
    ) -> None:
        for email in emails:
            try:
                validate_email(email)
            except ValidationError:
                raise CommandError(f"Not an email address: {email}. Nobody was invited.") from None
        try:
            outcomes = invitations_create(
                emails=emails,
                invited_by=None,
                is_staff=staff,
                credits=credits,
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
