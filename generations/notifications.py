""" "This generation finished" signals, so waiters wake at once instead of polling.

The worker publishes on Redis (channel ``generation-finished:<id>``) after the terminal state
commits; async waiters subscribe. Without Redis (the embedded default) nothing is published and
waiters fall back to re-reading the row, which is always the source of truth.
"""

import asyncio
import functools
import logging
from typing import TYPE_CHECKING

from django.conf import settings

from .api_selectors import generation_status_get
from .db import off_loop
from .models import Generation

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

FALLBACK_POLL_S = 1.0


def channel_for(generation_id: str) -> str:
    return f"generation-finished:{generation_id}"


def notify_finished(generation_id: str) -> None:
    """Publish a generation's end (called on commit; a lost message only slows a waiter)."""
    url = settings.NOTIFY_REDIS_URL
    if not url:
        return
    import redis

    try:
        _publisher(url).publish(channel_for(generation_id), "finished")
    except redis.RedisError:
        logger.warning("could not publish the end of generation %s", generation_id)


@functools.cache
def _publisher(url: str) -> "redis.Redis":
    """One client per process: its connection pool is thread-safe, and a connection per
    finished generation would cost a TCP handshake each time."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


async def generation_wait_terminal_async(*, generation_id: str, timeout_s: float) -> bool:
    """Wait without a thread until the generation is terminal or ``timeout_s`` pass."""
    status_get = off_loop(generation_status_get)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    subscription = await _subscribe(generation_id)
    try:
        while True:
            # Checked after subscribing, so an end published in between is not missed.
            status = await status_get(generation_id=generation_id)
            if status is None or status in Generation.TERMINAL_STATUSES:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            wait_s = min(remaining, FALLBACK_POLL_S if subscription is None else 5.0)
            if subscription is None:
                await asyncio.sleep(wait_s)
            else:
                await subscription.get_message(ignore_subscribe_messages=True, timeout=wait_s)
    finally:
        if subscription is not None:
            await subscription.aclose()


async def _subscribe(generation_id: str):
    url = settings.NOTIFY_REDIS_URL
    if not url:
        return None
    import redis.asyncio as aioredis

    try:
        pubsub = aioredis.Redis.from_url(url).pubsub()
        await pubsub.subscribe(channel_for(generation_id))
    except Exception:
        logger.warning("no Redis for notifications; polling generation %s", generation_id)
        return None
    return pubsub
