""" "This generation finished" signals, so waiters wake at once instead of polling.

The worker publishes on Redis (channel ``generation-finished:<id>``) after the terminal state
commits; async waiters are woken through one subscription per process. The rows stay the
source of truth: one query reads every waiting row of the process now and then (often without
Redis, the embedded default, where nothing is published), so a lost message only slows a waiter.
"""

import asyncio
import contextlib
import functools
import logging
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings

from . import api_selectors
from .db import off_loop

if TYPE_CHECKING:
    import redis
    from redis.asyncio.client import PubSub

logger = logging.getLogger(__name__)

# How often the waiting rows are read (in one query) without a live subscription ...
FALLBACK_SWEEP_S = 1.0
# ... and with one, anyway.
RECHECK_S = 5.0
# A failed subscription is tried again by a waiting call at most this often.
RESUBSCRIBE_S = 5.0
# Ids per query of a sweep.
SWEEP_CHUNK = 500


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


def notify_progress(generation_id: str) -> None:
    """Publish that a generation moved on without ending (it started, or an image was stored).

    Nothing listens for progress yet: waiters here wait only for the end.
    """


@functools.cache
def _publisher(url: str) -> "redis.Redis":
    """One client per process: its connection pool is thread-safe, and a connection per
    finished generation would cost a TCP handshake each time."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


async def generation_wait_terminal_async(*, generation_id: str, timeout_s: float) -> bool:
    """Wait without a thread until the generation is terminal (or gone) or ``timeout_s`` pass;
    returns whether it ended."""
    waiters = await _waiters()
    woken = waiters.register(generation_id)
    try:
        # Read after registering, so an end published in between is not missed.
        if await off_loop(api_selectors.generations_ended)(generation_ids=[generation_id]):
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), timeout=timeout_s)
        return woken.is_set()
    finally:
        waiters.unregister(generation_id, woken)


class FinishWaiters:
    """The waiting calls of one process (of one event loop), woken together.

    Where there is Redis, one pattern subscription to ``generation-finished:*`` hands each end
    to the waiters of that generation at once: a thousand waiting calls hold one connection, not
    a thousand. And while any call waits, one query reads all their rows every RECHECK_S (every
    FALLBACK_SWEEP_S without a live subscription), so a lost message, a broken subscription or
    no Redis at all only slow a waiter, and a thousand waiters cost one query, not a thousand.
    A waiter's event is set only once its generation has ended.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.subscribed = False
        self.waiters: dict[str, set[asyncio.Event]] = {}
        self._subscribe_after = 0.0
        self._dispatcher: asyncio.Task | None = None
        self._sweeper: asyncio.Task | None = None

    async def subscribe(self) -> None:
        """Subscribe if there is Redis and no live subscription (at most every RESUBSCRIBE_S)."""
        loop = asyncio.get_running_loop()
        if not self.url or self.subscribed or loop.time() < self._subscribe_after:
            return
        self._subscribe_after = loop.time() + RESUBSCRIBE_S
        import redis.asyncio as aioredis

        pubsub = aioredis.Redis.from_url(self.url).pubsub()
        try:
            await pubsub.psubscribe(channel_for("*"))
        except Exception:
            logger.warning("no Redis for notifications; waiting calls are woken by re-reads")
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            return
        self.subscribed = True
        self._dispatcher = asyncio.create_task(self._dispatch(pubsub))

    def register(self, generation_id: str) -> asyncio.Event:
        woken = asyncio.Event()
        self.waiters.setdefault(generation_id, set()).add(woken)
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep())
        return woken

    def unregister(self, generation_id: str, woken: asyncio.Event) -> None:
        waiting = self.waiters.get(generation_id)
        if waiting is not None:
            waiting.discard(woken)
            if not waiting:
                del self.waiters[generation_id]
        if not self.waiters and self._sweeper is not None:
            self._sweeper.cancel()  # nothing to read until the next call waits
            self._sweeper = None

    def wake(self, generation_ids: Iterable[str]) -> None:
        for generation_id in generation_ids:
            for woken in self.waiters.get(generation_id, ()):
                woken.set()

    async def _dispatch(self, pubsub: "PubSub") -> None:
        prefix = channel_for("")
        try:
            async for message in pubsub.listen():
                if message.get("type") != "pmessage":
                    continue
                channel = message["channel"]
                channel = channel.decode() if isinstance(channel, bytes) else str(channel)
                self.wake([channel.removeprefix(prefix)])
        except Exception:
            logger.warning("the notification subscription broke; waiting rows are re-read")
        finally:
            self.subscribed = False
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _sweep(self) -> None:
        """While any call waits: read all the waiting rows, a chunk per query, now and then."""
        ended = off_loop(api_selectors.generations_ended)
        while self.waiters:
            await asyncio.sleep(RECHECK_S if self.subscribed else FALLBACK_SWEEP_S)
            waiting = list(self.waiters)
            for start in range(0, len(waiting), SWEEP_CHUNK):
                try:
                    self.wake(await ended(generation_ids=waiting[start : start + SWEEP_CHUNK]))
                except Exception:  # the database in passing: the next sweep reads them again
                    logger.warning("could not read the waiting generations", exc_info=True)


_registry: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FinishWaiters]" = (
    weakref.WeakKeyDictionary()
)
_starting: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = (
    weakref.WeakKeyDictionary()
)


async def _waiters() -> FinishWaiters:
    """This event loop's waiters, subscribed where there is Redis (tried by waiting calls)."""
    loop = asyncio.get_running_loop()
    url = settings.NOTIFY_REDIS_URL
    async with _starting.setdefault(loop, asyncio.Lock()):  # one start for calls arriving at once
        waiters = _registry.get(loop)
        if waiters is None or waiters.url != url:
            waiters = _registry[loop] = FinishWaiters(url)
        await waiters.subscribe()
    return waiters
