"""The Redis broker transport: kombu's, with one client per channel instead of one per command."""

import uuid

import pytest
from kombu import Connection
from kombu.transport import redis as kombu_redis

from seedream_site import broker
from seedream_site.celery import app
from tests.services import require_redis


@pytest.fixture
def redis_url() -> str:
    return require_redis()


def test_the_celery_app_uses_it_for_a_redis_broker(redis_url):
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, broker.Transport)
        assert isinstance(connection.default_channel, broker.Channel)


def test_messages_go_through_while_one_client_serves_every_command(redis_url, monkeypatch):
    made = []
    build = kombu_redis.Channel._create_client

    def counted(self, asynchronous=False):
        client = build(self, asynchronous=asynchronous)
        if not asynchronous:
            made.append(client)
        return client

    monkeypatch.setattr(kombu_redis.Channel, "_create_client", counted)
    queue_name = f"broker-test-{uuid.uuid4().hex}"
    with Connection(redis_url, transport="seedream_site.broker:Transport") as connection:
        queue = connection.SimpleQueue(queue_name)
        try:
            for number in range(20):
                queue.put({"number": number})
            received = []
            for _ in range(20):
                message = queue.get(timeout=5)
                received.append(message.payload["number"])
                message.ack()
        finally:
            queue.clear()
            queue.close()
    assert received == list(range(20))
    # 20 publishes, 20 acks and their bookkeeping: one client made for all of them.
    assert len(made) == 1


def test_a_replaced_pool_gets_a_client_of_its_own(redis_url):
    with Connection(redis_url, transport="seedream_site.broker:Transport") as connection:
        channel = connection.default_channel
        first = channel._create_client()
        assert channel._create_client() is first
        channel._disconnect_pools()  # what kombu does after a fork or a lost connection
        second = channel._create_client()
        assert second is not first
        assert second.connection_pool is channel.pool
        assert second.ping()
