"""Verify that every credit balance equals its ledger: ``manage.py check_ledger``.

Exits 0 and prints "Ledger OK" when it does; prints each mismatch and exits 1 otherwise, so a
cron job or CI step fails loudly.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.ledger import ledger_check


class Command(BaseCommand):
    help = "Check that every credit balance equals the sum of its ledger entries."

    def handle(self, *args: Any, **options: Any) -> None:
        report = ledger_check()
        if report.ok:
            self.stdout.write(f"Ledger OK: {report.accounts_checked} accounts checked.")
            return
        for mismatch in report.mismatches:
            self.stdout.write(str(mismatch))
        raise CommandError(
            f"{len(report.mismatches)} ledger mismatch(es) in "
            f"{report.accounts_checked} accounts checked."
        )
