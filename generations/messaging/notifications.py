""" "This generation changed" signals, so waiting calls and event streams wake at once instead of
polling.

After a change commits, the web process or the worker publishes on Redis (channel
``generation:<id>``): ``progress`` when an image is stored or the run starts, ``finished`` when
the generation ends. Every waiting call of a process is woken through one pattern subscription.
The rows stay the source of truth: one query reads every watched row of the process now and
then (often without Redis, the embedded default, where nothing is published), so a lost
message only slows a waiter.

A waiting call holds no thread and no database connection between events: it awaits an
``asyncio.Event``, and reads the database only through ``off_loop``.
"""

import asyncio
import contextlib
import functools
import logging
import weakref
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings

from generations.runtime.db import off_loop, request_thread_release
from generations.selectors import progress
from generations.selectors.progress import ProgressMark

if TYPE_CHECKING:
    import redis
    from redis.asyncio.client import PubSub

logger = logging.getLogger(__name__)

# How often the watched rows are read (in one query) without a live subscription ...
FALLBACK_SWEEP_S = 1.0
# ... and with one, anyway.
RECHECK_S = 5.0
# A failed subscription is tried again by a waiting call at most this often.
RESUBSCRIBE_S = 5.0
# Ids per query of a sweep.
SWEEP_CHUNK = 500

FINISHED = "finished"
PROGRESS = "progress"


def channel_for(generation_id: str) -> str:
    return f"generation:{generation_id}"


def notify_finished(generation_id: str) -> None:
    """Publish a generation's end (call it after the terminal state commits)."""
    _publish(generation_id, FINISHED)


def notify_progress(generation_id: str) -> None:
    """Publish a change short of the end: an image stored, the run started (after commit)."""
    _publish(generation_id, PROGRESS)


def _publish(generation_id: str, kind: str) -> None:
    # A lost message only slows a waiter (the sweep reads the row), so failing to publish is
    # logged, never raised into the transition that committed.
    url = settings.NOTIFY_REDIS_URL
    if not url:
        return
    import redis

    try:
        _publisher(url).publish(channel_for(generation_id), kind)
    except redis.RedisError:
        logger.warning("could not publish %s of generation %s", kind, generation_id)


@functools.cache
def _publisher(url: str) -> "redis.Redis":
    """One client per process: its connection pool is thread-safe, and a connection per
    message would cost a TCP handshake each time."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


@dataclass(eq=False)
class Watch:
    """One waiting call's interest in one generation.

    ``until_ended`` watches (long-poll, OpenAI-compatible calls) are woken only once the
    generation has ended (or is gone); the others (event streams) on any change: a message of
    either kind, or a sweep finding the row's mark different from ``seen``, what the caller has
    already passed on. The caller clears ``woken`` *before* each read, so a change published
    between its read and its next wait still wakes it.
    """

    generation_id: str
    until_ended: bool
    woken: asyncio.Event = field(default_factory=asyncio.Event)
    seen: ProgressMark | None = None

    async def wait(self, timeout_s: float) -> bool:
        """Until woken or ``timeout_s`` pass; whether it was woken. No thread, no connection."""
        request_thread_release()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.woken.wait(), timeout=max(timeout_s, 0))
        return self.woken.is_set()


@contextlib.asynccontextmanager
async def generation_watch(*, generation_id: str, until_ended: bool) -> AsyncIterator[Watch]:
    """Registered for the block's duration, and unregistered however it ends (a client gone
    cancels the block: the watch leaves, and with the last one the process's sweep stops)."""
    waiters = await _waiters()
    watch = Watch(generation_id=generation_id, until_ended=until_ended)
    waiters.register(watch)
    try:
        yield watch
    finally:
        waiters.unregister(watch)


async def generation_wait_terminal_async(*, generation_id: str, timeout_s: float) -> bool:
    """Wait without a thread until the generation is terminal (or gone) or ``timeout_s`` pass;
    returns whether it ended."""
    async with generation_watch(generation_id=generation_id, until_ended=True) as watch:
        # Read after registering, so an end published in between is not missed.
        if await off_loop(progress.generations_ended)(generation_ids=[generation_id]):
            return True
        return await watch.wait(timeout_s)


class FinishWaiters:
    """The watches of one process (of one event loop), woken together.

    Where there is Redis, one pattern subscription to ``generation:*`` hands each message to the
    watches of that generation at once: a thousand waiting calls hold one connection, not a
    thousand. And while any call waits, one query per kind of watch reads all their rows every
    RECHECK_S (every FALLBACK_SWEEP_S without a live subscription), so a lost message, a broken
    subscription or no Redis at all only slow a waiter, and a thousand waiters cost a query or
    two, not a thousand.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.subscribed = False
        self.watches: dict[str, set[Watch]] = {}
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

    def register(self, watch: Watch) -> None:
        self.watches.setdefault(watch.generation_id, set()).add(watch)
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep())

    def unregister(self, watch: Watch) -> None:
        watching = self.watches.get(watch.generation_id)
        if watching is not None:
            watching.discard(watch)
            if not watching:
                del self.watches[watch.generation_id]
        if not self.watches and self._sweeper is not None:
            self._sweeper.cancel()  # nothing to read until the next call waits
            self._sweeper = None

    def wake(self, generation_ids: Iterable[str], *, ended: bool = True) -> None:
        """Wake every watch of these generations (``ended``), or only those waiting for any
        change."""
        for generation_id in generation_ids:
            for watch in self.watches.get(generation_id, ()):
                if ended or not watch.until_ended:
                    watch.woken.set()

    async def _dispatch(self, pubsub: "PubSub") -> None:
        prefix = channel_for("")
        try:
            async for message in pubsub.listen():
                if message.get("type") != "pmessage":
                    continue
                channel, kind = (
                    value.decode() if isinstance(value, bytes) else str(value)
                    for value in (message["channel"], message["data"])
                )
                self.wake([channel.removeprefix(prefix)], ended=kind == FINISHED)
        except Exception:
            logger.warning("the notification subscription broke; watched rows are re-read")
        finally:
            self.subscribed = False
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _sweep(self) -> None:
        """While any call waits: read all the watched rows, a chunk per query, now and then."""
        while self.watches:
            await asyncio.sleep(RECHECK_S if self.subscribed else FALLBACK_SWEEP_S)
            try:
                await self._sweep_once()
            except Exception:  # the database in passing: the next sweep reads them again
                logger.warning("could not read the watched generations", exc_info=True)

    async def _sweep_once(self) -> None:
        ended = off_loop(progress.generations_ended)
        marks = off_loop(progress.generation_marks)
        until_ended = [gid for gid, watches in self.watches.items() if _any(watches, True)]
        on_change = [gid for gid, watches in self.watches.items() if _any(watches, False)]
        for chunk in _chunks(until_ended):
            self.wake(await ended(generation_ids=chunk))
        for chunk in _chunks(on_change):
            found = await marks(generation_ids=chunk)
            for generation_id in chunk:
                for watch in self.watches.get(generation_id, ()):
                    if not watch.until_ended and found.get(generation_id) != watch.seen:
                        watch.woken.set()


def _any(watches: Iterable[Watch], until_ended: bool) -> bool:
    return any(watch.until_ended is until_ended for watch in watches)


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), SWEEP_CHUNK):
        yield ids[start : start + SWEEP_CHUNK]


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
