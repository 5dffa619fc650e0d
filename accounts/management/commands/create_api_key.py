"""Issue an API key for a user from the shell: ``manage.py create_api_key alice --name ci``.

The full key is printed once, alone on the last line of stdout, so a script can capture it
(``KEY=$(manage.py create_api_key alice --name ci | tail -n 1)``); only its hash is stored.
"""

import argparse
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import User
from accounts.services.keys import api_key_create
from studio_core.parsing import int_from_text


def days(value: str) -> int:
    number = int_from_text(value, minimum=1, maximum=100 * 365)
    if number is None:
        raise argparse.ArgumentTypeError(
            f'"{value}" is not a whole number of days from 1 to {100 * 365}'
        )
    return number


class Command(BaseCommand):
    help = "Create an API key for USERNAME and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. ci-runner.")
        parser.add_argument(
            "--expires-days",
            type=days,
            default=None,
            help="Days until the key stops working (default: never).",
        )

    def handle(
        self, *args: Any, username: str, name: str, expires_days: int | None, **options: Any
    ) -> None:
        try:
            user = User.objects.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(f'There is no user "{username}".') from None
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        try:
            issued = api_key_create(user=user, name=name, expires_at=expires_at)
        except ValueError as error:
            raise CommandError(str(error)) from error
        expiry = f"expires {expires_at:%Y-%m-%d %H:%M %Z}" if expires_at else "never expires"
        self.stdout.write(
            f'Created API key "{issued.api_key.name}" for {user.get_username()} '
            f"(prefix {issued.api_key.prefix}, {expiry}). It is shown only now:"
        )
        self.stdout.write(issued.key)
