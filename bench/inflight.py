"""How many generations one worker process holds in flight at once.

Submits N generations (from --clients teammates at once) to the local provider, which waits L
seconds per call, with ONE worker process, and prints one JSON line: {"n", "latency_s",
"wall_s", "ratio"} where ratio = wall / L is the median over --repeat rounds (each round's
figures are listed too); the wall runs from the first submit to the last generation's end. A
worker that ran one call at a time would give ratio ~= N; all N in flight gives ratio ~= 1.

With ``--provider replicate|fal|scenario|sinancode`` the generations go instead to that
provider's emulator on a loopback port, whose jobs take L seconds: the worker submits each job
and polls it from re-scheduled tasks, so no thread waits on a running job. With ``--provider
ark`` they go to the Ark emulator, which answers each call after L seconds (streamed, with an
image link to download): the synchronous path, whose calls wait on the worker's event loop.

Each round also reports the worker's CPU seconds per generation (from /proc) and its peak
resident memory and thread count while the round ran.

Runs on a throwaway embedded default (SQLite + filesystem broker in a temporary folder) unless
DATABASE_URL / CELERY_BROKER_URL name other services.

    python bench/inflight.py --n 100 --latency 5
    python bench/inflight.py --provider replicate --n 200 --latency 10
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from harness import django_ready, funded_user, only_account, wall_figures  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="generations to submit")
    parser.add_argument("--latency", type=float, default=5.0, help="provider seconds per call")
    parser.add_argument(
        "--model", default=None, help="default: seedream-3.0-t2i (local), seedream-4.0 (jobs)"
    )
    parser.add_argument("--size", default=None, help="default: 512x512 (local), 1K (jobs)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median is reported")
    parser.add_argument(
        "--provider",
        default="local",
        choices=["local", *EMULATOR_URL_SUFFIX],
        help="local: the demo renderer sleeping L s per call; ark: the Ark emulator answering "
        "each call after L s; otherwise a job provider's emulator whose jobs take L s",
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=8,
        help="generations submitted at once, each client a teammate of its own (requests reach "
        "a platform from many people at a time, not one after another)",
    )
    parser.add_argument("--timeout", type=float, default=600.0)
    arguments = parser.parse_args()
    local = arguments.provider == "local"
    arguments.model = arguments.model or ("seedream-3.0-t2i" if local else "seedream-4.0")
    arguments.size = arguments.size or ("512x512" if local else "1K")

    django_ready("seedream-bench-")
    from django.conf import settings
    from django.db import connection

    from generations.catalog import GenerationSpec
    from generations.models import Generation
    from generations.services import generation_submit

    users = [funded_user(f"bench{client}")[0] for client in range(arguments.clients)]
    emulator = None
    if arguments.provider == "local":
        only_account(
            kind="local",
            base_url="",
            api_key="",
            model=arguments.model,
            options={"latency_s": arguments.latency},
        )
    else:
        emulator, base_url, api_key = start_emulator(arguments.provider, arguments.latency)
        only_account(
            kind=arguments.provider,
            base_url=f"{base_url}{EMULATOR_URL_SUFFIX[arguments.provider]}",
            api_key=api_key,
            model=arguments.model,
        )

    def one_round(round_number: int) -> tuple[float, float, int, dict]:
        cpu_before = process_cpu_s(worker.pid)
        watch = ProcessWatch(worker.pid)
        started = time.monotonic()

        def submit_share(client: int) -> list[str]:
            try:
                return [
                    str(
                        generation_submit(
                            user=users[client],
                            spec=GenerationSpec(
                                model=arguments.model,
                                prompt=f"benchmark image {round_number}-{number}",
                                size=arguments.size,
                            ),
                        ).id
                    )
                    for number in range(client, arguments.n, arguments.clients)
                ]
            finally:
                connection.close()

        with ThreadPoolExecutor(arguments.clients) as clients:
            ids = [
                id_
                for share in clients.map(submit_share, range(arguments.clients))
                for id_ in share
            ]
        submitted = time.monotonic() - started
        deadline = started + arguments.timeout
        next_report = time.monotonic() + 5
        while time.monotonic() < deadline:
            unfinished = Generation.objects.filter(id__in=ids).exclude(
                status__in=Generation.TERMINAL_STATUSES
            )
            if not unfinished.exists():
                break
            if time.monotonic() > next_report:
                next_report += 5
                print(
                    f"  {time.monotonic() - started:5.1f} s: {unfinished.count()} of "
                    f"{len(ids)} still running",
                    file=sys.stderr,
                )
            time.sleep(0.1)
        wall = time.monotonic() - started
        watch.stop()
        succeeded = Generation.objects.filter(id__in=ids, status="succeeded").count()
        worker_figures = {
            **cpu_ms_per_generation(cpu_before, process_cpu_s(worker.pid), arguments.n),
            "peak_rss_mb": round(watch.peak_rss_kb / 1024, 1),
            "peak_threads": watch.peak_threads,
        }
        return wall, submitted, succeeded, worker_figures

    worker = start_worker()
    try:
        rounds = [one_round(number) for number in range(arguments.repeat)]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        if emulator is not None:
            emulator.terminate()
            emulator.wait(timeout=30)

    walls = [wall for wall, _, _, _ in rounds]
    print(
        json.dumps(
            {
                **wall_figures(n=arguments.n, latency_s=arguments.latency, walls=walls),
                "submit_s": [round(submitted, 3) for _, submitted, _, _ in rounds],
                "succeeded": [succeeded for _, _, succeeded, _ in rounds],
                "worker": [figures for _, _, _, figures in rounds],
                "clients": arguments.clients,
                "worker_concurrency": settings.CELERY_WORKER_CONCURRENCY,
                "worker_pool": settings.CELERY_WORKER_POOL,
                "broker": settings.CELERY_BROKER_URL.split(":")[0],
                "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
                "provider": arguments.provider,
                "model": arguments.model,
                "worker_log": str(Path(os.environ["VAR_DIR"]) / "worker.log"),
            }
        )
    )


EMULATOR_URL_SUFFIX = {
    "ark": "/api/v3",
    "replicate": "/v1",
    "fal": "",
    "scenario": "/v1",
    "sinancode": "/v1",
}


def start_emulator(provider: str, seconds: float) -> tuple[subprocess.Popen, str, str]:
    """The provider's emulator in a process of its own (as a real provider is elsewhere):
    jobs that take ``seconds``, or (Ark) calls answered after ``seconds``."""
    timing = ["--latency", str(seconds)] if provider == "ark" else ["--job-seconds", str(seconds)]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators.serve", provider, *timing],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().split()
    if not line or line[0] != "READY":
        process.kill()
        raise SystemExit(f"the {provider} emulator did not start")
    return process, line[1], line[2]


def process_cpu_s(pid: int) -> tuple[float, float]:
    """User and system CPU seconds the process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_ms_per_generation(
    before: tuple[float, float], after: tuple[float, float], n: int
) -> dict[str, float]:
    user, system = (
        (later - earlier) * 1000 / n for earlier, later in zip(before, after, strict=True)
    )
    return {
        "cpu_ms_per_generation": round(user + system, 1),
        "cpu_user_ms": round(user, 1),
        "cpu_system_ms": round(system, 1),
    }


class ProcessWatch:
    """Samples a process's resident memory and thread count every 0.2 s until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_rss_kb, self.peak_threads = pid, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            status = dict(
                line.split(":", 1)
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines()
                if ":" in line
            )
            self.peak_rss_kb = max(self.peak_rss_kb, int(status["VmRSS"].split()[0]))
            self.peak_threads = max(self.peak_threads, int(status["Threads"]))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def start_worker() -> subprocess.Popen:
    """One worker process with the settings' pool and concurrency; returns once it is ready.

    Its output goes straight to a file: through a pipe, a benchmark process busy submitting
    would read it late, and the worker's logging would block on the full pipe."""
    log_path = Path(os.environ["VAR_DIR"]) / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [
                *[sys.executable, "-m", "celery", "--app", "seedream_site", "worker"],
                *["--loglevel", "INFO", "--without-gossip", "--without-mingle"],
            ],
            cwd=PROJECT_ROOT,
            env=os.environ.copy(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "ready." not in log_path.read_text():
        if time.monotonic() > deadline or worker.poll() is not None:
            worker.kill()
            raise SystemExit(f"the worker did not start within 60 s; see {log_path}")
        time.sleep(0.2)
    return worker


if __name__ == "__main__":
    main()
