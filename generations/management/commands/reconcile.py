"""Compare the ledger with one provider's own usage reports for a day: ``manage.py reconcile``.

    manage.py reconcile --provider ark --day 2026-11-20

Prints each generation whose counts differ (images the provider reported, images its attempts
returned, images the ledger captured) and a summary; exits 1 when there are differences, so a
daily cron job or CI step fails loudly.
"""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generations.models import ProviderAccount
from generations.usage.reconcile import reconcile


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--day must be a date like 2026-11-20, not {value!r}.") from error


class Command(BaseCommand):
    help = "Compare ledger captures with a provider's reported usage for one day."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--provider",
            required=True,
            choices=[kind for kind, _ in ProviderAccount.Kind.choices],
            help="provider kind, e.g. ark",
        )
        parser.add_argument(
            "--day", required=True, help="YYYY-MM-DD, in the site's time zone (attempt start)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = reconcile(provider=options["provider"], day=_day(options["day"]))
        for row in result.differences:
            requests = ", ".join(row.request_ids) or "no request id"
            self.stdout.write(
                f"generation {row.generation_id} (attempts {', '.join(map(str, row.attempt_ids))};"
                f" {requests}): " + "; ".join(row.problems)
            )
        reported = sum(row.reported or 0 for row in result.generations)
        summary = (
            f"{result.provider} on {result.day.isoformat()}: {len(result.generations)} "
            f"generation(s); provider reported {reported} image(s), attempts returned "
            f"{result.total('returned')}, ledger captured {result.total('captured')} "
            f"({result.total('captured_credits')} credits)."
        )
        if result.differences:
            self.stdout.write(summary)
            raise CommandError(f"{len(result.differences)} generation(s) differ.")
        self.stdout.write(f"{summary} No differences.")
