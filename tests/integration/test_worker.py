"""A real Celery worker process takes a generation submitted through the page to SUCCEEDED.

Runs against the broker the settings name (Redis in CI, the filesystem transport otherwise) and
the test database the suite uses (PostgreSQL in CI, an SQLite file otherwise).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.urls import reverse

from generations.models import Generation
from seedream_site.celery import app as celery_app

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

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


def test_page_submission_completes_on_a_real_worker(client, user, local_account, real_worker):
    client.force_login(user)
    response = client.post(
        reverse("workspace"),
        {
            "model": "seedream-4.0",
            "prompt": "a paper boat on a pond",
            "size": "1K",
            "aspect_ratio": "4:3",
            "num_images": 2,
            "visibility": "private",
        },
    )
    assert response.status_code == 302
    generation = Generation.objects.get()

    try:
        finished = wait_for_terminal(generation.id, timeout_s=90)
    except AssertionError:
        real_worker.terminate()
        output, _ = real_worker.communicate(timeout=20)
        raise AssertionError(f"worker output:\n{output[-4000:]}") from None

    assert finished.status == Generation.Status.SUCCEEDED, finished.error_message
    outputs = list(finished.outputs.all())
    assert len(outputs) == 2
    for output in outputs:
        assert (output.width, output.height) == (1152, 864)
        assert default_storage.exists(output.file.name)
        assert default_storage.exists(output.thumbnail.name)
    page = client.get(reverse("workspace")).content.decode()
    assert reverse("output-thumbnail", args=[outputs[0].id]) in page
