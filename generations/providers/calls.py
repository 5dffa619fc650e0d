"""The executor of provider calls answered in the response (plain JSON or server-sent events).

A `CallAdapter` only translates: `call_for` says what to send, `reader` reads the reply as it
arrives, `error_from_reply` classifies a refusal. Everything else is here, once: the client,
its timeouts, the status and transport error mapping, and the downloads of image links.

The I/O is asynchronous. In a worker process the calls run on one event loop owned by the
process (`CALL_LOOP`, started with the worker's housekeeping): a call waiting 30 s for its
images holds no thread, only a socket, and the worker's threads stay free for work that needs
CPU. Elsewhere (tests, management commands, an inline task) `CallAdapter.generate` runs the
same translation over a blocking client in the caller's thread (`CallAdapter.generate`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import itertools
import os
import threading
import urllib.request
from abc import abstractmethod
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
)
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import httpx

from generations.providers.base import BaseAdapter, ImageBytes, image_link
from generations.providers.contract import ProviderImage, ProviderImageFailure, ProviderOutcome
from generations.providers.errors import BadResponse, ProviderError
from generations.providers.http import USER_AGENT, map_transport_errors, redact, tls_context
from generations.providers.inputs import ProviderRequest
from generations.providers.wire import (
    FLAKY_DOWNLOAD_PAUSE_S,
    fetch_image,
    image_facts,
)

__all__ = [
    "CALL_LOOP",
    "CallAdapter",
    "CallLoop",
    "HttpCall",
    "ImageLink",
    "ReplyItem",
    "ReplyReader",
    "WholeReply",
    "account_client",
    "call_outcomes",
]


@dataclass(frozen=True, slots=True)
class HttpCall:
    """What one provider call sends."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None


@dataclass(frozen=True, slots=True)
class ImageLink:
    """An image the reply names by URL: the executor downloads it (provider links expire)."""

    index: int
    url: str


ReplyItem = ProviderOutcome | ImageLink


class ReplyReader(Protocol):
    """Reads one reply as its bytes arrive: what each chunk completes, then what the end says.

    Raises `ProviderError` for a reply that reports a failure or cannot be read."""

    def feed(self, chunk: bytes) -> list[ReplyItem]: ...

    def close(self) -> list[ReplyItem]: ...


class WholeReply:
    """A reply read whole at its end (a JSON document), by `read(body)`."""

    def __init__(self, read: Callable[[bytes], list[ReplyItem]]) -> None:
        self.read, self.body = read, bytearray()

    def feed(self, chunk: bytes) -> list[ReplyItem]:
        self.body.extend(chunk)
        return []

    def close(self) -> list[ReplyItem]:
        return self.read(bytes(self.body))


class CallAdapter(BaseAdapter):
    """An adapter for a provider that answers the call itself (no job to poll)."""

    @abstractmethod
    def call_for(self, request: ProviderRequest) -> HttpCall:
        """The call for `request`; raises `BadRequest`/`AuthError` before anything is sent."""

    @abstractmethod
    def reader(self, response: httpx.Response, call: HttpCall) -> ReplyReader:
        """A reader for the 200 reply to `call` (its headers say JSON or an event stream).
        Whether what it raises may fail over is the adapter's to say (`wire.accepted_call`)."""

    @abstractmethod
    def error_from_reply(self, response: httpx.Response, call: HttpCall) -> ProviderError:
        """The error for a reply that is not a 200 (its body has been read)."""

    def generate(self, request: ProviderRequest) -> Iterator[ProviderOutcome]:
        """The call in the caller's thread (outside a worker's event loop): the same
        translation and error handling as `call_outcomes`, over a blocking client."""
        call = self.call_for(request)
        with (
            self.http_client() as client,
            map_transport_errors(secrets=self.secrets),
            client.stream(call.method, call.url, json=call.json, headers=call.headers) as response,
        ):
            if response.status_code != 200:
                response.read()
                raise self.error_from_reply(response, call)
            reader = self.reader(response, call)
            for chunk in response.iter_bytes():
                yield from (self._resolved(item) for item in reader.feed(chunk))
            yield from (self._resolved(item) for item in reader.close())

    def _resolved(self, item: ReplyItem) -> ProviderOutcome:
        return (
            fetch_image(self, item.url, index=item.index) if isinstance(item, ImageLink) else item
        )


async def call_outcomes(
    adapter: CallAdapter, request: ProviderRequest
) -> AsyncGenerator[ProviderOutcome, None]:
    """Each outcome of one call as it arrives: images (downloaded), failures, then the usage."""
    call = adapter.call_for(request)
    async with account_client(adapter) as client:
        with map_transport_errors(secrets=adapter.secrets):
            async with client.stream(
                call.method, call.url, json=call.json, headers=call.headers
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise adapter.error_from_reply(response, call)
                reader = adapter.reader(response, call)
                async for chunk in response.aiter_bytes():
                    for item in reader.feed(chunk):
                        yield await _resolved(adapter, client, item)
                for item in reader.close():
                    yield await _resolved(adapter, client, item)


async def _resolved(
    adapter: CallAdapter, client: httpx.AsyncClient, item: ReplyItem
) -> ProviderOutcome:
    if not isinstance(item, ImageLink):
        return item
    return await _fetch_image(adapter, client, item)


async def _fetch_image(
    adapter: CallAdapter, client: httpx.AsyncClient, link: ImageLink
) -> ProviderImage | ProviderImageFailure:
    """`wire.fetch_image` on the loop: a 404 is tried once more after a pause; a link that
    stays gone, is no image or is too large is this image's failure, never the call's (the
    provider made, and billed, the others)."""
    try:
        with map_transport_errors(secrets=adapter.secrets):
            try:
                content = await _download(client, link.url)
            except BadResponse as error:
                if error.http_status != 404:
                    raise
                await asyncio.sleep(FLAKY_DOWNLOAD_PAUSE_S)
                content = await _download(client, link.url)
        width, height, mime = image_facts(content)
    except ProviderError as error:
        return ProviderImageFailure(link.index, error.code, redact(error.message, adapter.secrets))
    return ProviderImage(
        index=link.index, content=content, url=link.url, width=width, height=height, mime=mime
    )


async def _download(client: httpx.AsyncClient, url: str) -> bytes:
    # The client carries no credentials: the call's headers went with the call alone.
    async with client.stream("GET", image_link(url)) as response:
        image = ImageBytes(response)
        async for chunk in response.aiter_bytes():
            image.add(chunk)
    return image.content


def account_client(adapter: BaseAdapter) -> httpx.AsyncClient:
    """`http.build_http_client`'s asynchronous twin, with the account's timeouts."""
    account = adapter.account
    timeout = httpx.Timeout(
        connect=account.connect_timeout_s,
        read=adapter.read_timeout_s,
        write=account.connect_timeout_s,
        pool=account.connect_timeout_s,
    )
    transport: httpx.AsyncBaseTransport | None
    if adapter.transport is not None:
        transport = _ThreadedTransport(adapter.transport)
    else:
        shard = next(_next_shard) % POOL_SHARDS
        transport = _shared_transport(os.getpid(), id(asyncio.get_running_loop()), shard)
    return httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT},
        timeout=timeout,
        follow_redirects=False,
        transport=transport,
        verify=tls_context(),
    )


class _SharedAsyncTransport(httpx.AsyncHTTPTransport):
    """The loop's one connection pool: closing a client leaves it open."""

    async def aclose(self) -> None:
        pass

    async def __aexit__(self, *args: object) -> None:
        pass


# httpcore's pool scans every connection it holds to place each request, so one pool carrying
# hundreds of calls at once spends CPU quadratic in the calls; spread over a few pools (each
# call and its downloads on one), each scan stays short.
POOL_SHARDS = 16
_next_shard = itertools.count()


@functools.cache
def _shared_transport(pid: int, loop_id: int, shard: int) -> httpx.AsyncBaseTransport | None:
    """One of the pools of a process and event loop (connections belong to the loop that
    opened them). None when the environment names proxies: each client then sets them up."""
    if urllib.request.getproxies():
        return None
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
    return _SharedAsyncTransport(verify=tls_context(), limits=limits)


class _ThreadedTransport(httpx.AsyncBaseTransport):
    """A synchronous transport (the tests' in-process emulators) behind the asynchronous
    client: the exchange and each chunk of the reply are read off the shared loop."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        sync_request = httpx.Request(
            request.method, request.url, headers=request.headers, content=body
        )
        response = await asyncio.to_thread(self._transport.handle_request, sync_request)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_ThreadedStream(response),
            request=request,
            extensions=response.extensions,
        )


class _ThreadedStream(httpx.AsyncByteStream):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = iter(cast(Iterable[bytes], self._response.stream))
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            yield chunk

    async def aclose(self) -> None:
        await asyncio.to_thread(self._response.close)


class CallLoop:
    """The event loop a worker process runs its provider calls on, in one daemon thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            threading.Thread(target=run, name="provider-calls", daemon=True).start()
            ready.wait()
            self._loop, self._pid = loop, os.getpid()

    def running(self) -> bool:
        return self._loop is not None and self._pid == os.getpid()

    def stop(self) -> None:
        """Stop the loop (calls still on it are dropped); `start` makes a new one."""
        with self._lock:
            loop, self._loop, self._pid = self._loop, None, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)

    def submit(self, coroutine: Coroutine[Any, Any, None]) -> concurrent.futures.Future[None]:
        if self._loop is None or not self.running():
            coroutine.close()
            raise RuntimeError("the provider call loop runs only in a worker process")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def in_flight(self) -> int:
        """Calls on the loop now (for the shutdown wait and the metrics)."""
        loop = self._loop
        if loop is None or not self.running():
            return 0
        return len(asyncio.all_tasks(loop))


CALL_LOOP = CallLoop()
