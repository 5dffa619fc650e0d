"""A real Celery worker process for integration tests, on the test database and broker."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from generations.models import Generation
from seedream_site.celery import app as celery_app

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


@pytest.fixture
def real_worker():
    """A worker process on the test database, and tasks sent to the broker, not run inline."""
    celery_app.conf.task_always_eager = False
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "seedream_site.settings_test",
        "DATABASE_URL": database_url_of_test_database(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "--app",
            "seedream_site",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    celery_app.conf.task_always_eager = True
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for_terminal(generation_id, *, timeout_s: float) -> Generation:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        generation = Generation.objects.get(id=generation_id)
        if generation.is_terminal:
            return generation
        time.sleep(0.25)
    raise AssertionError(f"generation {generation_id} still {generation.status} after {timeout_s}s")
