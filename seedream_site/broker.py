"""kombu's Redis transport, with one Redis client per channel for its synchronous commands.

kombu builds a new ``redis.Redis`` for each command it sends (publishing a task, acking one,
its QoS bookkeeping: several per task), and redis-py's constructor copies some 200 response
callbacks every time; on a busy worker that was about 5% of its CPU. The client only wraps the
channel's connection pool and a client is safe to share between threads, so one per pool does
the same work. Selected by ``CELERY_BROKER_TRANSPORT`` for ``redis://`` broker URLs.
"""

from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _shared_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool
        client = self._shared_client
        # kombu replaces the pool after a fork or a lost connection: the client follows it.
        if client is None or client.connection_pool is not pool:
            client = self._shared_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel
