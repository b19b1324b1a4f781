"""Streams of chunks: a bounded channel with backpressure, and the user-facing ChatStream.

Design rule (DESIGN.md §4): a stream never dies silently. A failure ends it with one
:class:`ErrorChunk` carrying the typed error and the text so far; ``on_error`` is called;
collectors such as :meth:`ChatStream.text` raise the typed error instead. Queues are
bounded and a full queue *blocks* its producer (up to a timeout the producer may set, and
is told about): nothing is ever dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from fluent_ai._aio import aclose_quietly, resolve
from fluent_ai.errors import FluentAIError, StreamInterruptedError
from fluent_ai.providers.base import ResultBuilder
from fluent_ai.types import ChatResult, Chunk, Done, ErrorChunk

__all__ = [
    "Channel",
    "ChannelClosed",
    "ChannelTimeout",
    "ChatStream",
    "ChunkHandler",
    "ErrorHandler",
]

T = TypeVar("T")

ChunkHandler = Callable[[Chunk], Awaitable[None] | None]
ErrorHandler = Callable[[FluentAIError], Awaitable[None] | None]
ResultHandler = Callable[[ChatResult], Awaitable[None] | None]

_END = object()


class ChannelClosed(Exception):
    """Raised to a producer whose consumer has gone away."""


class ChannelTimeout(TimeoutError):
    """Raised to a producer that found no room within its timeout: the consumer stalled."""


class Channel(Generic[T]):
    """A bounded single-consumer queue that producers in other threads can feed.

    ``put_threadsafe`` blocks the producing thread while the queue is full (backpressure),
    for at most ``timeout`` seconds when one is given (:class:`ChannelTimeout`, so a
    producer can tell a stalled consumer from a slow one), and raises
    :class:`ChannelClosed` once the consumer has stopped listening, so a worker thread
    never waits forever on an abandoned stream. ``end_threadsafe`` never blocks: the end
    marker (and an optional tail) go past the bound, so a producer can always finish.

    The event loop never takes a lock a producer may hold (the loop must not block):
    items cross threads through ``call_soon_threadsafe``, and a producer waiting for room
    waits on a private lock that the loop releases once the consumer has taken an item.
    """

    _POLL = 0.25  # a waiting producer re-checks ``closed`` this often

    def __init__(self, maxsize: int = 64) -> None:
        if maxsize < 1:
            raise ValueError("a Channel needs room for at least one item")
        self._maxsize = maxsize
        self._loop = asyncio.get_running_loop()
        self._items: deque[Any] = deque()  # delivered, not yet taken; loop thread only
        self._getter: asyncio.Future[None] | None = None  # the consumer waiting for items
        self._sent = 0  # data items handed over; written by producers only
        self._taken = 0  # data items taken; written by the loop only
        self._parked: list[threading.Lock] = []  # gates of producers waiting for room
        self._producer_lock = threading.Lock()  # producers only: keeps the bound exact
        self._closed = False
        self._ended = False

    @property
    def closed(self) -> bool:
        return self._closed

    def put_threadsafe(self, item: T, timeout: float | None = None) -> None:
        """Hand ``item`` to the consumer, waiting while the channel is full.

        Raises :class:`ChannelTimeout` when no room appeared within ``timeout`` seconds
        (``item`` is then not queued) and :class:`ChannelClosed` once the consumer is
        gone. Call it from a thread other than the event loop's.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._producer_lock:
                if self._closed or self._ended:
                    raise ChannelClosed
                if self._sent - self._taken < self._maxsize:
                    self._sent += 1
                    self._send((item,))
                    return
            if deadline is not None and time.monotonic() >= deadline:
                raise ChannelTimeout(f"no room in the channel for {timeout:g}s")
            self._wait_for_room(deadline)

    def end_threadsafe(
        self, error: BaseException | None = None, *, tail: tuple[T, ...] = ()
    ) -> None:
        """End the stream without waiting: ``tail`` items, then the end (or ``error``).

        ``tail`` carries items a timed-out producer could not queue, so the consumer
        still receives everything produced. Only the first end counts.
        """
        with self._producer_lock:
            if self._ended or self._closed:
                return
            self._ended = True
            self._sent += len(tail)
            with contextlib.suppress(ChannelClosed):
                self._send((*tail, _Failure(error) if error is not None else _END))

    def close(self) -> None:
        """The consumer is done: release every producer waiting for room (any thread)."""
        self._closed = True
        self._release_parked()

    def _send(self, items: tuple[Any, ...]) -> None:
        try:
            self._loop.call_soon_threadsafe(self._deliver, items)
        except RuntimeError:  # the loop is closed: nobody will ever read
            self._closed = True
            raise ChannelClosed from None

    def _wait_for_room(self, deadline: float | None) -> None:
        """Block until the consumer takes an item, the deadline passes or it goes away."""
        gate = threading.Lock()
        gate.acquire()
        try:
            self._loop.call_soon_threadsafe(self._park, gate)
        except RuntimeError:
            self._closed = True
            return
        while not self._closed:
            wait = self._POLL if deadline is None else min(self._POLL, deadline - time.monotonic())
            if wait <= 0 or gate.acquire(timeout=wait):
                return

    def _park(self, gate: threading.Lock) -> None:
        """On the loop: release ``gate`` at once if there is room, else when there is."""
        if self._closed or self._sent - self._taken < self._maxsize:
            gate.release()
        else:
            self._parked.append(gate)

    def _release_parked(self) -> None:
        while True:
            try:
                gate = self._parked.pop()
            except IndexError:
                return
            gate.release()

    def _deliver(self, items: tuple[Any, ...]) -> None:
        if self._closed:
            return
        self._items.extend(items)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)

    async def __aiter__(self) -> AsyncIterator[T]:
        try:
            while True:
                while not self._items:
                    if self._closed:
                        return
                    self._getter = self._loop.create_future()
                    try:
                        await self._getter
                    finally:
                        self._getter = None
                item = self._items.popleft()
                if item is _END:
                    return
                if isinstance(item, _Failure):
                    raise item.error
                self._taken += 1
                self._release_parked()
                yield item
        finally:
            self.close()


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def _call(handler: Callable[[Any], Awaitable[None] | None], value: Any) -> None:
    await resolve(handler(value))


class ChatStream:
    """The answer to one chat turn: iterate it for chunks, or await a collector.

    ``async for chunk in stream`` yields every chunk and ends with :class:`Done` or one
    :class:`ErrorChunk`. ``await stream.text()`` / ``await stream.result()`` consume the
    stream and raise the typed error if it failed. A stream can be consumed once.
    """

    def __init__(
        self,
        source: Callable[[], AsyncIterator[Chunk]],
        *,
        model: str = "",
        on_chunk: tuple[ChunkHandler, ...] = (),
        on_error: tuple[ErrorHandler, ...] = (),
        on_complete: tuple[ResultHandler, ...] = (),
    ) -> None:
        self._source = source
        self._builder = ResultBuilder(model)
        self._on_chunk = on_chunk
        self._on_error = on_error
        self._on_complete = on_complete
        self._started = False
        self._iterator: AsyncGenerator[Chunk, None] | None = None
        self._result: ChatResult | None = None
        self._error: FluentAIError | None = None

    @property
    def partial_text(self) -> str:
        """The text received so far."""
        return self._builder.text

    def __aiter__(self) -> AsyncIterator[Chunk]:
        if self._started:
            raise RuntimeError("a ChatStream can be consumed only once")
        self._started = True
        self._iterator = self._run()
        return self._iterator

    async def aclose(self) -> None:
        """Stop the stream now (after a ``break``): releases its connection at once."""
        if self._iterator is not None:
            await self._iterator.aclose()

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """``async with agent.chat(...) as stream:`` closes the stream however the block ends."""
        await self.aclose()

    async def _run(self) -> AsyncGenerator[Chunk, None]:
        builder = self._builder
        source: AsyncIterator[Chunk] | None = None
        try:
            source = self._source()  # may fail (e.g. the system prompt cannot render)
            async for chunk in source:
                builder.add(chunk)
                for handler in self._on_chunk:
                    await _call(handler, chunk)
                if isinstance(chunk, Done):
                    self._result = builder.result()
                    for done_handler in self._on_complete:
                        await _call(done_handler, self._result)
                yield chunk
        except FluentAIError as error:
            yield await self._fail(error)
        except (asyncio.CancelledError, GeneratorExit):
            raise
        except Exception as exc:  # noqa: BLE001 - a stream never dies silently
            wrapped = FluentAIError(f"unexpected error: {type(exc).__name__}: {exc}")
            wrapped.__cause__ = exc
            yield await self._fail(wrapped)
        finally:
            await aclose_quietly(source)

    async def _fail(self, error: FluentAIError) -> ErrorChunk:
        partial = self._builder.text
        if isinstance(error, StreamInterruptedError) and not error.partial_text:
            error.partial_text = partial
        self._error = error
        for handler in self._on_error:
            await _call(handler, error)
        return ErrorChunk(error, partial)

    async def result(self) -> ChatResult:
        """Consume the stream and return the whole answer; raise its error if it failed."""
        if not self._started:
            async for _ in self:
                pass
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise RuntimeError("the stream was not consumed to its end")
        return self._result

    async def text(self) -> str:
        """Consume the stream and return the answer's text; raise its error if it failed."""
        return (await self.result()).text
