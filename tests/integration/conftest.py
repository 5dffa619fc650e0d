"""Real worker and web server processes for integration tests, on the test database and broker.

Tests that only need a worker to run what they submit share one for the whole run
(``real_worker``); the others start their own (``start_worker``)."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from generations.models import Generation
from seedream_site.celery import app as celery_app
from tests.conftest import media_settings, require_marker

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def database_url_of_test_database() -> str:
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    user = params.get("USER") or ""
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"


def process_environment(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a platform process on the production settings (the test settings run
    tasks inline), pointed at the test database, the test media folder and the broker this test
    process sends to."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "seedream_site.settings",
        "DATABASE_URL": database_url_of_test_database(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **(extra_env or {}),
    }
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        environment["BROKER_DIR"] = str(settings.BROKER_DIR)
    return environment


def process_log(name: str) -> IO[str]:
    # A file, not a pipe: a chatty process would block on a full pipe nobody reads.
    return tempfile.NamedTemporaryFile(
        mode="w+", prefix=f"seedream-{name}-", suffix=".log", delete=False
    )


def start_process(
    command: list[str], *, name: str, extra_env: dict[str, str] | None = None
) -> subprocess.Popen:
    """A platform process (``process_environment``); its output goes to a log file read by
    ``worker_log``."""
    log = process_log(name)
    process = subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=PROJECT_ROOT,
        env=process_environment(extra_env),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    process.log_path = log.name  # type: ignore[attr-defined]
    return process


def start_worker(
    extra_env: dict[str, str] | None = None, *, concurrency: int = 8
) -> subprocess.Popen:
    """A worker process on the test database; tasks are sent to the broker, not run inline."""
    require_marker("worker", "a worker process")
    stop_shared_worker()
    celery_app.conf.task_always_eager = False
    return start_process(
        [
            "celery",
            "--app",
            "seedream_site",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        name="worker",
        extra_env=extra_env,
    )


def worker_log(process: subprocess.Popen) -> str:
    with open(process.log_path) as log:  # type: ignore[attr-defined]
        return log.read()[-6000:]


def stop_worker(process: subprocess.Popen) -> None:
    celery_app.conf.task_always_eager = True
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class SharedWorker:
    """The one worker process that ``real_worker`` tests share, with a media folder of its own.

    Started on first use; stopped whenever a test starts a worker of its own (or a whole
    platform stack), which must be the only consumer of the broker while it runs, and started
    again by the next test that asks for it.
    """

    def __init__(self, media: Path) -> None:
        self.media = media
        self.process: subprocess.Popen | None = None

    def running(self) -> subprocess.Popen:
        if self.process is not None and self.process.poll() is not None:
            stopped, self.process = self.process, None  # the next test starts another
            pytest.fail("the shared worker has stopped:\n" + worker_log(stopped))
        if self.process is None:
            with override_settings(**media_settings(self.media)):
                self.process = start_worker()
            celery_app.conf.task_always_eager = True  # only while a test uses it (real_worker)
        return self.process

    def stop(self) -> None:
        if self.process is not None:
            stop_worker(self.process)
            self.process = None


_shared_workers: list[SharedWorker] = []


def stop_shared_worker() -> None:
    """Before a test's own worker or stack starts: it alone takes tasks from the broker."""
    for shared in _shared_workers:
        shared.stop()


@pytest.fixture(scope="session")
def shared_worker(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SharedWorker]:
    shared = SharedWorker(tmp_path_factory.mktemp("shared-worker-media"))
    _shared_workers.append(shared)
    yield shared
    _shared_workers.remove(shared)
    shared.stop()


@pytest.fixture
def real_worker(
    shared_worker: SharedWorker, transactional_db: None, _clean_media: None
) -> Iterator[subprocess.Popen]:
    """The run's shared worker, for a test whose rows it must see (committed: the test is
    transactional). While the test runs, tasks go to the broker and this process reads and
    writes media in the worker's folder. Afterwards nothing of the test stays behind: its
    generations must all have ended (or the test fails), and the media folder is emptied before
    the test's rows are removed.

    Tests that kill the worker, or need it started with other settings, start their own
    (``start_worker``), and the shared one stops meanwhile."""
    process, media = shared_worker.running(), shared_worker.media
    celery_app.conf.task_always_eager = False
    try:
        with override_settings(**media_settings(media)):
            yield process
            wait_until_idle(process, timeout_s=IDLE_TIMEOUT_S)
    finally:
        celery_app.conf.task_always_eager = True
        shutil.rmtree(media)
        media.mkdir()


# How long a test's generations may take to end after the test itself is done.
IDLE_TIMEOUT_S = 60


def wait_until_idle(process: subprocess.Popen, *, timeout_s: float) -> None:
    """Every generation has ended: no work of this test is left for the next one."""
    unfinished = Generation.objects.exclude(status__in=Generation.TERMINAL_STATUSES)
    deadline = time.monotonic() + timeout_s
    while unfinished.exists():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{unfinished.count()} generations still unfinished {timeout_s} s after the "
                "test; the worker's output:\n" + worker_log(process)
            )
        time.sleep(0.2)


def wait_for_terminal(generation_id, *, timeout_s: float) -> Generation:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        generation = Generation.objects.get(id=generation_id)
        if generation.is_terminal:
            return generation
        time.sleep(0.25)
    raise AssertionError(f"generation {generation_id} still {generation.status} after {timeout_s}s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_web_server(extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """One uvicorn process on the production settings (as the Procfile's web process runs
    them: the database pool at its configured size), on the test database, media folder and
    broker; gives the process and its base URL once it accepts connections."""
    port = free_port()
    process = start_process(
        [
            "uvicorn",
            "seedream_site.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        name="web",
        extra_env=extra_env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(worker_log(process))
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return process, f"http://127.0.0.1:{port}"
        time.sleep(0.2)
    process.kill()
    raise AssertionError("the web server did not start:\n" + worker_log(process))


def stop_web_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
