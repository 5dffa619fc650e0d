"""How much the web process's memory grows while it streams a large zip and a large CSV export.

Prepares a staff user, a generation with N incompressible images of M MB each in storage (the
zip download), and R audit events (the audit trail's CSV export, one row per event), then for
each download starts a fresh uvicorn process on the platform's settings, warms it up with a
small download of the same kind, and reads the large one in 64 KiB pieces while a thread
samples the server's VmRSS every 20 ms. Prints one JSON line: per download the baseline RSS,
the peak sampled and the kernel's VmHWM, the growth over the baseline, bytes received, the
duration, and whether the growth stays under the limit (64 MB). Exits 1 when one does not.

Runs on SQLite in a fresh temporary folder (removed at the end) unless DATABASE_URL names
another database (which must exist; earlier runs' rows stay, named apart by a random suffix).

    python bench/streaming.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/seedream_stream python bench/streaming.py
"""

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from harness import django_ready  # noqa: E402
from openai_wait import free_port, wait_for_port  # noqa: E402

READ_BYTES = 64 * 1024
SAMPLE_EVERY_S = 0.02
GROWTH_LIMIT_MB = 64
WARM_UP_ACTION = "bench.warm_up"
END_OF_ZIP = b"PK\x05\x06"  # the end-of-central-directory record's signature


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--image-mb", type=float, default=4.0)
    parser.add_argument("--rows", type=int, default=100_000)
    arguments = parser.parse_args()

    workdir = django_ready("seedream-streaming-")
    from django.db import connection
    from django.urls import reverse

    session, staff_id, large, small = prepare(
        images=arguments.images,
        image_bytes=int(arguments.image_mb * 1024 * 1024),
        rows=arguments.rows,
    )
    export_url = reverse("admin:accounts_auditevent_export")
    downloads = {
        "zip": (
            reverse("generation-zip", args=[small]),
            reverse("generation-zip", args=[large]),
        ),
        # The warm-up exports the one warm-up event; the measured export, all the staff user's.
        "csv": (
            f"{export_url}?actor={staff_id}&action__exact={WARM_UP_ACTION}",
            f"{export_url}?actor={staff_id}",
        ),
    }
    connection.close()

    figures: dict[str, Any] = {
        "database": connection.vendor,
        "images": arguments.images,
        "image_mb": arguments.image_mb,
        "rows": arguments.rows,
        "code": str(PROJECT_ROOT),
    }
    for kind, (warm_up_path, path) in downloads.items():
        figures[kind] = measure(
            warm_up_path=warm_up_path,
            path=path,
            session=session,
            kind=kind,
            csv_lines=arguments.rows + 1,  # and the headings
        )
    figures["all_under_limit"] = all(figures[kind]["under_limit"] for kind in downloads)
    shutil.rmtree(workdir)  # the images: hundreds of MB
    print(json.dumps(figures))
    return 0 if figures["all_under_limit"] else 1


def prepare(*, images: int, image_bytes: int, rows: int) -> tuple[str, int, str, str]:
    """A staff user's session cookie and id, the large generation's id and a one-image one's.

    The audit events are the staff user's own (one a warm-up), so the export filtered by that
    actor holds exactly ``rows`` of them, whatever else the database holds.
    """
    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.test import Client

    from accounts.models import AuditEvent, User
    from accounts.services.credits import credit_account_for
    from generations.models import Generation, OutputImage

    staff = User.objects.create_user(
        username=f"bench-streaming-{os.urandom(4).hex()}", is_staff=True, is_superuser=True
    )
    generations = []
    for count in (images, 1):
        generation = Generation.objects.create(
            owner=staff,
            wallet=credit_account_for(staff),
            model="seedream-4.0",
            prompt="a lighthouse at dusk, long exposure",
            params={"size": "4K", "aspect_ratio": "1:1", "width": 4096, "height": 4096},
            num_images=count,
            status=Generation.Status.SUCCEEDED,
        )
        for index in range(count):
            # Random bytes: a photograph's JPEG does not deflate either.
            name = default_storage.save(
                f"outputs/{generation.pk}-{index}.jpg", ContentFile(os.urandom(image_bytes))
            )
            OutputImage.objects.create(
                generation=generation,
                index=index,
                file=name,
                sha256=f"{index:064d}",
                width=4096,
                height=4096,
                format="jpeg",
                bytes=image_bytes,
            )
        generations.append(str(generation.pk))

    AuditEvent.objects.create(
        actor=staff, action=WARM_UP_ACTION, target_type="bench", target_id="0"
    )
    batch = 5_000
    for first in range(0, rows - 1, batch):
        AuditEvent.objects.bulk_create(
            AuditEvent(
                actor=staff,
                action="credits.granted",
                target_type="user",
                target_id=str(number),
                target_repr=f"teammate-{number}",
                before={"available": number, "held": 0},
                after={"available": number + 500, "held": 0},
                ip_address="10.0.0.1",
            )
            for number in range(first, min(first + batch, rows - 1))
        )

    client = Client()
    client.force_login(staff)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return session, staff.pk, generations[0], generations[1]


def measure(
    *, warm_up_path: str, path: str, session: str, kind: str, csv_lines: int
) -> dict[str, Any]:
    """One download from a fresh server process, after a warm-up download of the same kind."""
    port = free_port()
    web = subprocess.Popen(
        [
            *[sys.executable, "-m", "uvicorn", "seedream_site.asgi:application"],
            *["--port", str(port), "--log-level", "warning", "--no-access-log"],
        ],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
    )
    try:
        wait_for_port(port)
        download(port, warm_up_path, session)
        time.sleep(0.5)
        baseline_kb = proc_status_kb(web.pid, "VmRSS")
        sampler = RssSampler(web.pid)
        sampler.start()
        started = time.monotonic()
        received, tail, lines, first_piece_s = download(port, path, session)
        duration = time.monotonic() - started
        peak_kb = sampler.stop()
        high_water_kb = proc_status_kb(web.pid, "VmHWM")
    finally:
        web.terminate()
        web.wait(timeout=30)
    growth_mb = (peak_kb - baseline_kb) / 1024
    complete = lines == csv_lines if kind == "csv" else END_OF_ZIP in tail
    return {
        "baseline_rss_mb": round(baseline_kb / 1024, 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "vm_hwm_mb": round(high_water_kb / 1024, 1),
        "growth_mb": round(growth_mb, 1),
        "bytes_received": received,
        **({"csv_lines": lines} if kind == "csv" else {}),
        "complete": complete,
        "first_body_s": round(first_piece_s, 2),
        "duration_s": round(duration, 2),
        "samples": sampler.samples,
        "under_limit": growth_mb < GROWTH_LIMIT_MB and complete,
    }


def download(port: int, path: str, session: str) -> tuple[int, bytes, int, float]:
    """GET ``path`` with the staff session, reading the body in pieces: (bytes, the last 64 KiB
    or so, line count, seconds to the first piece of body)."""
    from django.conf import settings

    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("GET", path, headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"})
    response = connection.getresponse()
    if response.status != 200:
        raise SystemExit(f"GET {path} answered {response.status}: {response.read()[:500]!r}")
    received = lines = 0
    tail = b""
    first_piece_s = 0.0
    while piece := response.read1(READ_BYTES):
        if not received:
            first_piece_s = time.monotonic() - started
        received += len(piece)
        lines += piece.count(b"\n")
        tail = (tail + piece)[-2 * READ_BYTES :]
    connection.close()
    return received, tail, lines, first_piece_s


def proc_status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


class RssSampler(threading.Thread):
    """The highest VmRSS of ``pid`` seen, read every SAMPLE_EVERY_S until ``stop()``."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.samples = 0
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            self.peak_kb = max(self.peak_kb, proc_status_kb(self.pid, "VmRSS"))
            self.samples += 1
            self._stopping.wait(SAMPLE_EVERY_S)

    def stop(self) -> int:
        self._stopping.set()
        self.join()
        return max(self.peak_kb, proc_status_kb(self.pid, "VmRSS"))


if __name__ == "__main__":
    sys.exit(main())
