""" "This generation finished" signals, so waiters wake at once instead of polling.

The worker publishes on Redis (channel ``generation-finished:<id>``) after the terminal state
commits; async waiters are woken through one subscription per process. Without Redis (the
embedded default) nothing is published and waiters fall back to re-reading the row, which is
always the source of truth.
"""

import asyncio
import contextlib
import functools
import logging
import weakref
from typing import TYPE_CHECKING

from django.conf import settings

from .api_selectors import generation_status_get
from .db import off_loop
from .models import Generation

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

FALLBACK_POLL_S = 1.0
# With the subscription, how often a waiter re-reads its row anyway.
RECHECK_S = 5.0


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
    listener = await _listener()
    woken = listener.register(generation_id) if listener else None
    try:
        while True:
            # Checked after registering, so an end published in between is not missed.
            status = await status_get(generation_id=generation_id)
            if status is None or status in Generation.TERMINAL_STATUSES:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            if woken is None or listener is None or not listener.alive:
                await asyncio.sleep(min(remaining, FALLBACK_POLL_S))
                continue
            # The row is re-read now and then anyway: a lost message only slows a waiter.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout=min(remaining, RECHECK_S))
            woken.clear()
    finally:
        if listener is not None and woken is not None:
            listener.unregister(generation_id, woken)


class FinishedListener:
    """One Redis subscription per process (per event loop) for all its waiting calls.

    A pattern subscription to ``generation-finished:*`` hands each end to the waiters of that
    generation, so a thousand waiting calls hold one Redis connection, not a thousand. If the
    connection breaks, ``alive`` turns false: waiters re-read their rows every second, and the
    next waiting call starts a new listener.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.alive = False
        self.waiters: dict[str, set[asyncio.Event]] = {}
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        import redis.asyncio as aioredis

        self._pubsub = aioredis.Redis.from_url(self.url).pubsub()
        await self._pubsub.psubscribe(channel_for("*"))
        self.alive = True
        self._task = asyncio.create_task(self._dispatch())

    def register(self, generation_id: str) -> asyncio.Event:
        woken = asyncio.Event()
        self.waiters.setdefault(generation_id, set()).add(woken)
        return woken

    def unregister(self, generation_id: str, woken: asyncio.Event) -> None:
        waiting = self.waiters.get(generation_id)
        if waiting is not None:
            waiting.discard(woken)
            if not waiting:
                del self.waiters[generation_id]

    async def _dispatch(self) -> None:
        prefix = channel_for("")
        try:
            async for message in self._pubsub.listen():
                if message.get("type") != "pmessage":
                    continue
                channel = message["channel"]
                channel = channel.decode() if isinstance(channel, bytes) else str(channel)
                for woken in self.waiters.get(channel.removeprefix(prefix), ()):
                    woken.set()
        except Exception:
            logger.warning("the notification subscription broke; waiters re-read their rows")
        finally:
            self.alive = False
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()


_listeners: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FinishedListener]" = (
    weakref.WeakKeyDictionary()
)
_starting: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = (
    weakref.WeakKeyDictionary()
)


async def _listener() -> FinishedListener | None:
    """This event loop's listener, started by the first waiting call (None without Redis)."""
    url = settings.NOTIFY_REDIS_URL
    if not url:
        return None
    loop = asyncio.get_running_loop()
    async with _starting.setdefault(loop, asyncio.Lock()):  # one start for calls arriving at once
        listener = _listeners.get(loop)
        if listener is None or not listener.alive or listener.url != url:
            listener = FinishedListener(url)
            try:
                await listener.start()
            except Exception:
                logger.warning("no Redis for notifications; waiting calls re-read their rows")
                return None
            _listeners[loop] = listener
    return listener
