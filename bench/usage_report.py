"""How long the usage report takes on 100,000 generations, and whether its totals match the ledger.

Seeds the demo history (``seed_demo_data``) unless the database already holds exactly that many
demo generations, then times the report for the last N days grouped as asked (default: by user
and model) and prints one JSON line: the median over --repeat runs of the selector alone
("report_s") and of the whole admin page ("page_s", with its query count), plus the check that
the report's captured and released credits equal the ledger's for the same generations.

Runs on SQLite in var/bench-usage/ (kept between runs, so the seed is paid once) unless
DATABASE_URL names another database. Exits 1 when the totals differ.

    python bench/usage_report.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/usage_bench python bench/usage_report.py
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--group-by", default="user,model", help="comma-separated dimensions")
    parser.add_argument("--repeat", type=int, default=7, help="runs; the median is reported")
    parser.add_argument("--var-dir", default=str(PROJECT_ROOT / "var" / "bench-usage"))
    arguments = parser.parse_args()

    os.environ["VAR_DIR"] = arguments.var_dir
    os.environ.setdefault("MEDIA_ROOT", str(Path(arguments.var_dir) / "media"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "seedream_site.settings"
    sys.path.insert(0, str(PROJECT_ROOT))

    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connection
    from django.db.models import F, Sum
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from accounts.models import CreditEntry, User
    from generations.models import Generation
    from generations.usage.dimensions import day_bounds
    from generations.usage.report import usage_report

    call_command("migrate", verbosity=0)
    from generations.usage.demo_seed import demo_data_delete, demo_data_seed, demo_generation_count

    seed_s = None
    if demo_generation_count() != arguments.generations:
        demo_data_delete()
        started = time.monotonic()
        demo_data_seed(generations=arguments.generations, days=arguments.days)
        seed_s = round(time.monotonic() - started, 1)

    group_by = [name for name in arguments.group_by.split(",") if name]
    today = timezone.localdate()
    first = today - timedelta(days=arguments.days - 1)
    start, end = day_bounds(first)[0], day_bounds(today)[1]

    report_runs = []
    report = None
    for _ in range(arguments.repeat):
        began = time.perf_counter()
        report = usage_report(start=start, end=end, group_by=group_by)
        report_runs.append(round(time.perf_counter() - began, 3))
    assert report is not None

    # The same page staff open, through the whole stack (middleware, admin, template).
    staff, _ = User.objects.get_or_create(
        username="bench-usage-staff", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(SERVER_NAME="localhost")
    client.force_login(staff)
    query = {"start": first.isoformat(), "end": today.isoformat(), "group_by": group_by}
    page_runs, page_queries = [], 0
    for _ in range(arguments.repeat):
        began = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("admin:generations_usage_report"), query)
        page_runs.append(round(time.perf_counter() - began, 3))
        assert response.status_code == 200, response.status_code
        page_queries = len(queries)

    in_range = CreditEntry.objects.filter(
        generation__created_at__gte=start, generation__created_at__lt=end
    )
    ledger_captured = in_range.filter(kind="capture").aggregate(s=Sum(-F("held_change")))["s"]
    ledger_released = in_range.filter(kind="release").aggregate(s=Sum("amount"))["s"]
    generations = Generation.objects.filter(created_at__gte=start, created_at__lt=end)
    charged = generations.aggregate(s=Sum("credits_charged"))["s"]
    totals_match = (
        report.total.credits_captured == (ledger_captured or 0) == (charged or 0)
        and report.total.credits_released == (ledger_released or 0)
        and report.total.generations == generations.count()
    )
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "generations_seeded": arguments.generations,
                "days": arguments.days,
                "group_by": group_by,
                "groups": report.group_count,
                "report_s": statistics.median(report_runs),
                "report_runs_s": report_runs,
                "page_s": statistics.median(page_runs),
                "page_queries": page_queries,
                "generations_in_range": report.total.generations,
                "credits_captured": report.total.credits_captured,
                "ledger_captured": ledger_captured,
                "credits_released": report.total.credits_released,
                "ledger_released": ledger_released,
                "totals_match_ledger": totals_match,
                "seed_s": seed_s,
            }
        )
    )
    return 0 if totals_match else 1


if __name__ == "__main__":
    sys.exit(main())
