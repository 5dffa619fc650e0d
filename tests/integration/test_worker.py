"""A real Celery worker process takes a generation submitted through the page to SUCCEEDED.

Runs against the broker the settings name (Redis in CI, the filesystem transport otherwise) and
the test database the suite uses (PostgreSQL in CI, an SQLite file otherwise).
"""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from generations.models import Generation
from tests.integration.conftest import wait_for_terminal, worker_log

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


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
        raise AssertionError(f"worker output:\n{worker_log(real_worker)}") from None

    assert finished.status == Generation.Status.SUCCEEDED, finished.error_message
    outputs = list(finished.outputs.all())
    assert len(outputs) == 2
    for output in outputs:
        assert (output.width, output.height) == (1152, 864)
        assert default_storage.exists(output.file.name)
        assert default_storage.exists(output.thumbnail.name)
    page = client.get(reverse("workspace")).content.decode()
    assert reverse("output-thumbnail", args=[outputs[0].id]) in page
