"""Fill the database with a realistic history for demos and benchmarks: ``seed_demo_data``.

    manage.py seed_demo_data                      # 100,000 generations over 90 days
    manage.py seed_demo_data --generations 2000 --reset

Never run it against a production database: it adds users and provider accounts (clearly
labelled, disabled, without credentials). ``--reset`` removes what an earlier run added.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generations.usage.demo_seed import (
    demo_data_delete,
    demo_data_exists,
    demo_data_seed,
    demo_generation_count,
)


class Command(BaseCommand):
    help = "Create demo users, keys, generations over N days, attempts and a consistent ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--generations", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--users", type=int, default=30)
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed (same seed, same data)"
        )
        parser.add_argument(
            "--reset", action="store_true", help="remove an earlier run's demo data first"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["generations"] < 0 or options["days"] < 1 or options["users"] < 1:
            raise CommandError("--generations must be >= 0, --days and --users >= 1.")
        if options["reset"]:
            demo_data_delete()
        elif demo_data_exists():
            raise CommandError(
                f"Demo data already exists ({demo_generation_count():,} generations); "
                "pass --reset to replace it."
            )
        result = demo_data_seed(
            generations=options["generations"],
            days=options["days"],
            users=options["users"],
            seed=options["seed"],
        )
        self.stdout.write(
            f"Seeded {result.generations:,} generations for {result.users} users "
            f"({result.api_keys} API keys) over {options['days']} days: "
            f"{result.attempts:,} provider attempts, {result.outputs:,} output images, "
            f"{result.ledger_entries:,} ledger entries in {result.seconds} s."
        )
