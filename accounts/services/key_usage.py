"""When each API key was last used: noted in the cache on the request, written in bulk by beat.

A request that authenticates with a key sets one cache entry, ``api-key-used:<id>``, to the
time of the call; ``api_key_usage_flush`` (the ``accounts.flush_key_usage`` task, every minute)
reads the entries of every key that can still be in use and moves ``ApiKey.last_used_at``
forward in one UPDATE per batch. The request path never writes to the database, so a busy key
costs one cache write instead of a row update.

Nothing is lost, whatever overlaps: entries are only ever overwritten by the next use and left
to expire, never deleted by the flush, so a use recorded while a flush runs is still there for
the next one; and the UPDATE carries ``last_used_at < new time`` in its WHERE clause, so two
flushes at once, or one that read an older entry, never move a time backwards.

This needs a cache every process shares (Redis: ``CACHE_URL``), since web processes record and
a worker flushes. With a per-process cache (LocMemCache, the default when ``CACHE_URL`` is
unset, or DummyCache) a worker cannot see what the web server recorded; there the request
writes ``last_used_at`` itself, at most once a minute per key (``LAST_USED_RESOLUTION``), and
the flush has nothing to do.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db.models import Case, DateTimeField, Q, Value, When
from django.utils import timezone

from ..models import ApiKey

# last_used_at is kept to this resolution: a key whose stored time is more recent is not noted
# again, so a busy key costs nothing at all most of the time.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# A recorded use outlives any pause of beat worth planning for; a key revoked or expired longer
# ago than this cannot have an entry left to flush.
ENTRY_TTL = timedelta(days=1)
# Keys read from the database, looked up in the cache (one MGET on Redis) and updated per batch.
FLUSH_BATCH = 500
CACHE_KEY_PREFIX = "api-key-used:"


def usage_cache_is_shared() -> bool:
    """Whether the default cache is one store for every process (Redis, memcached, files)."""
    return not isinstance(caches[DEFAULT_CACHE_ALIAS], LocMemCache | DummyCache)


def api_key_usage_record(*, api_key: ApiKey, at: datetime) -> None:
    """Note that ``api_key`` was used at ``at``; see the module docstring for where it goes."""
    if usage_cache_is_shared():
        caches[DEFAULT_CACHE_ALIAS].set(
            _cache_key(api_key.pk), at, timeout=int(ENTRY_TTL.total_seconds())
        )
    else:
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=at - LAST_USED_RESOLUTION)
        ApiKey.objects.filter(stale, pk=api_key.pk).update(last_used_at=at)
    api_key.last_used_at = at


def api_key_usage_flush(*, now: datetime | None = None) -> int:
    """Write recorded uses to ``ApiKey.last_used_at``; returns how many keys moved forward.

    Idempotent and safe beside itself and beside requests (module docstring). Reads every key
    that was not revoked or expired more than ``ENTRY_TTL`` ago, in batches by id.
    """
    if not usage_cache_is_shared():
        return 0  # the request path wrote last_used_at itself
    now = now or timezone.now()
    cutoff = now - ENTRY_TTL
    candidates = (
        ApiKey.objects.filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=cutoff))
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=cutoff))
        .order_by("pk")
    )
    moved = 0
    after = 0
    while batch := list(
        candidates.filter(pk__gt=after).values_list("pk", "last_used_at")[:FLUSH_BATCH]
    ):
        after = batch[-1][0]
        moved += _write_newer(stored=dict(batch))
    return moved


def _write_newer(*, stored: dict[int, datetime | None]) -> int:
    recorded = caches[DEFAULT_CACHE_ALIAS].get_many([_cache_key(pk) for pk in stored])
    newer = {
        pk: used_at
        for pk, last_used_at in stored.items()
        if isinstance(used_at := recorded.get(_cache_key(pk)), datetime)
        and (last_used_at is None or used_at > last_used_at)
    }
    if not newer:
        return 0
    new_time = Case(*_whens(newer.items()), output_field=DateTimeField())
    return (
        ApiKey.objects.filter(pk__in=newer)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=new_time))
        .update(last_used_at=new_time)
    )


def _whens(times: Iterable[tuple[int, datetime]]) -> list[When]:
    return [When(pk=pk, then=Value(at, output_field=DateTimeField())) for pk, at in times]


def _cache_key(api_key_id: int) -> str:
    return f"{CACHE_KEY_PREFIX}{api_key_id}"
