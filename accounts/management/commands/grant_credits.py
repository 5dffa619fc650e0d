"""Grant credits from the shell: ``manage.py grant_credits alice 5000 --memo "Q3 budget"``.

The grant is recorded with no actor (the shell has no logged-in user); the memo says why.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import User
from accounts.services.credits import LedgerError, credits_grant


class Command(BaseCommand):
    help = "Grant AMOUNT credits to USERNAME and print the new available balance."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("amount", type=int)
        parser.add_argument("--memo", required=True, help="Why: kept in the ledger and audit.")
        parser.add_argument(
            "--idempotency-key",
            default=None,
            help="Running the command again with the same key grants nothing more.",
        )

    def handle(
        self,
        *args: Any,
        username: str,
        amount: int,
        memo: str,
        idempotency_key: str | None,
        **options: Any,
    ) -> None:
        try:
            user = User.objects.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(f'There is no user "{username}".') from None
        started_at = timezone.now()
        try:
            entry = credits_grant(
                user=user, amount=amount, actor=None, memo=memo, idempotency_key=idempotency_key
            )
        except (ValueError, LedgerError) as error:
            raise CommandError(f"{error} Nothing was granted.") from error
        if entry.created_at < started_at:
            self.stdout.write(
                f"Already granted with this idempotency key (ledger entry {entry.pk}); "
                "nothing more was granted."
            )
        else:
            self.stdout.write(f"Granted {amount:,} credits to {user.get_username()}.")
        self.stdout.write(f"Available balance after the grant: {entry.available_after:,}")
