"""A broker outage, for real: the web server and the worker reach Redis through a proxy that the
test takes down. Creates answer as usual, the generations wait in QUEUED with the reason, and
they run once the broker is back — each charged once, the ledger clean."""

import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest
from django.conf import settings
from openai import OpenAI

from accounts.ledger import ledger_mismatches
from accounts.models import CreditAccount, CreditEntry
from accounts.services.keys import api_key_create
from generations.models import Generation
from tests.integration.broker_proxy import BrokerProxy
from tests.integration.conftest import (
    start_web_server,
    start_worker,
    stop_web_server,
    stop_worker,
    worker_log,
)
from tests.services import require_redis

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_creates_answer_while_the_broker_is_down_and_run_when_it_is_back(user, local_account):
    broker = urlsplit(require_redis())
    proxy = BrokerProxy(target_host=broker.hostname or "127.0.0.1", target_port=broker.port or 6379)
    proxy.up()
    through_proxy = f"redis://127.0.0.1:{proxy.port}{broker.path}"
    environment = {"CELERY_BROKER_URL": through_proxy, "NOTIFY_REDIS_URL": through_proxy}
    key = api_key_create(user=user, name="outage").key
    available = CreditAccount.objects.get(user=user).available
    worker = start_worker(environment)
    web, base_url = start_web_server(environment)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        # A first request warms the server up, so the time below is the outage's alone.
        assert httpx.get(f"{base_url}/api/v1/me", headers=headers, timeout=30).status_code == 200
        proxy.down()
        began = time.monotonic()
        created = httpx.post(
            f"{base_url}/api/v1/generations",
            json={"model": "seedream-4.0", "prompt": "a heron in fog", "size": "1K"},
            headers=headers,
            timeout=30,
        )
        answered_in = time.monotonic() - began
        assert created.status_code == 201, created.text
        native_id = created.json()["id"]
        waiting = httpx.get(f"{base_url}/api/v1/generations/{native_id}", headers=headers)
        assert waiting.json()["status"] == "queued"
        assert "task queue cannot be reached" in waiting.json()["waiting_reason"]

        # The OpenAI-compatible call waits for its images as usual, across the outage.
        openai_answer: dict = {}

        def openai_call() -> None:
            client = OpenAI(base_url=f"{base_url}/v1", api_key=key, timeout=120, max_retries=0)
            try:
                openai_answer["result"] = client.images.generate(
                    model="seedream-4.0", prompt="an owl at dusk", size="1K"
                )
            except Exception as error:  # reported below with the logs
                openai_answer["error"] = error

        caller = threading.Thread(target=openai_call)
        caller.start()
        time.sleep(3)
        assert Generation.objects.filter(status="queued", dispatched_at__isnull=True).count() == 2
        health = httpx.get(f"{base_url}/healthz", timeout=30)
        assert health.status_code == 503
        assert "broker" in health.text

        proxy.up()
        caller.join(timeout=90)
        assert "result" in openai_answer, (openai_answer, worker_log(web), worker_log(worker))
        assert len(openai_answer["result"].data) == 1
        deadline = time.monotonic() + 60
        while Generation.objects.exclude(status="succeeded").exists():
            assert time.monotonic() < deadline, worker_log(worker)
            time.sleep(0.2)
    finally:
        stop_worker(worker)
        stop_web_server(web)
        proxy.down()

    print(f"\nbroker outage: the native create answered 201 in {answered_in:.2f} s")
    assert answered_in < 5
    generations = list(Generation.objects.all())
    assert len(generations) == 2
    for generation in generations:
        kinds = sorted(
            CreditEntry.objects.filter(generation=generation).values_list("kind", flat=True)
        )
        assert kinds == ["capture", "hold"]  # held once, charged once
        assert generation.dispatched_at is not None
    account = CreditAccount.objects.get(user=user)
    assert (account.available, account.held) == (available - 2 * 30, 0)
    assert not ledger_mismatches()
    assert settings.CELERY_TASK_ALWAYS_EAGER  # the test process itself ran nothing
