"""How fast the gallery's view of images renders its first 60 tiles with 100,000 images stored.

Seeds one user's generations (four images each, a week apart to a few seconds apart; a third
shared with everyone) with ``bulk_create``, then renders ``/gallery/?view=images`` through
the Django test client --repeat times (after one warm-up) for the "mine" tab, the shared tab,
and the page after a cursor deep in the history, and prints one JSON line: the median server
time in ms of each, and the queries each took (constant: tests/pages/test_query_counts.py).

Runs on a throwaway SQLite database (bench.harness.django_ready) unless DATABASE_URL names
another; on PostgreSQL the tables are ANALYZEd after the seed, as autovacuum would.

    python bench/gallery.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gallery_bench python bench/gallery.py
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import django_ready

IMAGES_PER_GENERATION = 4
BATCH = 5_000


def seed(*, images: int) -> Any:
    """A user with ``images`` output images; returns the user."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from accounts.services.credits import credit_account_for
    from generations.models import Generation, OutputImage

    user = User.objects.create_user(username=f"bench-gallery-{os.urandom(4).hex()}")
    wallet = credit_account_for(user)
    now = timezone.now()
    generations_total = images // IMAGES_PER_GENERATION
    # Real times, each generation a few seconds apart: auto_now_add would give all one instant.
    fields = [Generation._meta.get_field("created_at"), OutputImage._meta.get_field("created_at")]
    for field in fields:
        field.auto_now_add = False  # type: ignore[attr-defined]
    try:
        for start in range(0, generations_total, BATCH):
            batch = []
            for number in range(start, min(start + BATCH, generations_total)):
                batch.append(
                    Generation(
                        owner=user,
                        wallet=wallet,
                        model="seedream-4.0",
                        prompt=f"a harbour at dusk, study {number}",
                        params={"size": "2K", "width": 2048, "height": 2048},
                        num_images=IMAGES_PER_GENERATION,
                        status=Generation.Status.SUCCEEDED,
                        price_per_image=30,
                        credits_held=120,
                        credits_charged=120,
                        visibility="team" if number % 3 == 0 else "private",
                        created_at=now - timedelta(seconds=7 * (generations_total - number)),
                        finished_at=now,
                    )
                )
            made = Generation.objects.bulk_create(batch)
            OutputImage.objects.bulk_create(
                [
                    OutputImage(
                        generation=generation,
                        index=index,
                        file=f"outputs/bench/{generation.pk}-{index}.jpg",
                        thumbnail=f"thumbnails/bench/{generation.pk}-{index}.jpg",
                        sha256=f"{generation.pk.hex}{index:032d}"[:64],
                        # A mix of shapes, as the tiles get them: 9:21, 21:9, 1:1, 4:3.
                        width=(1536, 3584, 2048, 2304)[index],
                        height=(3584, 1536, 2048, 1728)[index],
                        format="jpeg",
                        bytes=500_000,
                        created_at=generation.created_at,
                    )
                    for generation in made
                    for index in range(IMAGES_PER_GENERATION)
                ]
            )
    finally:
        for field in fields:
            field.auto_now_add = True  # type: ignore[attr-defined]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return user


def timed(client: Any, url: str, *, repeat: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up: the session's activity, template loading
    runs, cpu_runs, queries, tiles = [], [], 0, 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            began, began_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            runs.append((time.perf_counter() - began) * 1000)
            cpu_runs.append((time.process_time() - began_cpu) * 1000)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
        tiles = response.content.count(b'class="image-tile ')
    return {
        "median_ms": round(statistics.median(runs), 1),
        "p90_ms": round(sorted(runs)[int(len(runs) * 0.9) - 1], 1),
        # This process's CPU time alone: on a busy machine, closer to what the page costs
        # (on SQLite it includes the queries; on PostgreSQL their time is the server's).
        "median_cpu_ms": round(statistics.median(cpu_runs), 1),
        "queries": queries,
        "tiles": tiles,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30, help="renders; the median is reported")
    arguments = parser.parse_args()

    django_ready("seedream-bench-gallery-")
    from django.db import connection
    from django.test import Client

    from generations.models import OutputImage
    from generations.selectors.gallery_images import ImageCursor

    started = time.monotonic()
    user = seed(images=arguments.images)
    seed_s = round(time.monotonic() - started, 1)

    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    deep = (
        OutputImage.objects.filter(generation__owner=user)
        .order_by("-created_at", "-id")
        .values_list("created_at", "id")[arguments.images * 3 // 4]
    )
    cursor = ImageCursor(created_at=deep[0], id=deep[1]).token
    figures = {
        "mine": timed(client, "/gallery/?view=images", repeat=arguments.repeat),
        "shared": timed(client, "/gallery/?view=images&tab=team", repeat=arguments.repeat),
        "deep_page": timed(
            client, f"/gallery/?view=images&after={cursor}", repeat=arguments.repeat
        ),
    }
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "images_seeded": OutputImage.objects.filter(generation__owner=user).count(),
                "seed_s": seed_s,
                "repeat": arguments.repeat,
                "target_median_ms": 50,
                # Other work on the machine inflates the wall times; this says how busy it was.
                "load_average_1m": round(os.getloadavg()[0], 1),
                "cpus": os.cpu_count(),
                **figures,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
