"""Streamed downloads built by a sync generator (zip archives, CSV exports) that stream under
ASGI too, one batch at a time, instead of being collected whole before the first byte leaves.

Django's ``StreamingHttpResponse`` serves a sync iterator under ASGI by running ``list()`` of it
in a thread (it warns "must consume synchronous iterators"): a 240 MB zip sits in memory, and
the client waits for all of it. ``ThreadedStreamingHttpResponse`` pulls the same generator a
batch at a time in the request's thread instead; under WSGI and Django's test ``Client`` it is
an ordinary sync stream.
"""

from collections.abc import AsyncIterator, Iterator
from typing import cast

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse

# Each hop to the thread carries about this much: a CSV line is ~100 bytes, and one hop per
# line would spend more on the hop than on the line; a zip chunk (256 KiB) is one hop alone.
STREAM_BATCH_BYTES = 64 * 1024


class ThreadedStreamingHttpResponse(StreamingHttpResponse):
    """A ``StreamingHttpResponse`` whose sync generator streams under ASGI with flat memory.

    Under ASGI each batch is pulled by ``sync_to_async(thread_sensitive=True)``: in the thread
    the sync view ran in, which Django keeps for the request until the response is closed. Not
    the shared pool (``thread_sensitive=False``) on purpose: a generator reading the database
    (``QuerySet.iterator()``) holds a cursor of that thread's connection, which another thread
    must never use, and the thread is there for the request anyway.

    Closing: when the stream ends or the client goes away, Django's ASGI handler closes the
    response in that same thread, after any pull still running there. That closes the
    generator (its ``finally`` and ``with`` blocks run) and sends ``request_finished``, which
    hands the thread's database connection back.
    """

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.is_async:
            async for part in super().__aiter__():
                yield part
            return
        # Not async, so the content is the sync iterator (Django's map of ``make_bytes``).
        chunks = cast(Iterator[bytes], self.streaming_content)
        next_batch = sync_to_async(stream_batch, thread_sensitive=True)
        while batch := await next_batch(chunks):
            yield batch


def stream_batch(chunks: Iterator[bytes]) -> bytes:
    """The next ``STREAM_BATCH_BYTES`` or so of ``chunks``; ``b""`` once they are exhausted."""
    parts: list[bytes] = []
    size = 0
    for part in chunks:
        parts.append(part)
        size += len(part)
        if size >= STREAM_BATCH_BYTES:
            break
    return b"".join(parts)
