"""Streams of chunks: a bounded channel with backpressure, and the user-facing ChatStream.

Design rule (DESIGN.md §4): a stream never dies silently. A failure ends it with one
:class:`ErrorChunk` carrying the typed error and the text so far; ``on_error`` is called;
collectors such as :meth:`ChatStream.text` raise the typed error instead. Queues are
bounded and a full queue *blocks* its producer: nothing is ever dropped.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Generic, TypeVar

from fluent_ai.errors import FluentAIError, StreamInterruptedError
from fluent_ai.providers.base import ResultBuilder
from fluent_ai.types import ChatResult, Chunk, Done, ErrorChunk

__all__ = ["Channel", "ChannelClosed", "ChatStream", "ChunkHandler", "ErrorHandler"]

T = TypeVar("T")

ChunkHandler = Callable[[Chunk], Awaitable[None] | None]
ErrorHandler = Callable[[FluentAIError], Awaitable[None] | None]
ResultHandler = Callable[[ChatResult], Awaitable[None] | None]

_END = object()


class ChannelClosed(Exception):
    """Raised to a producer whose consumer has gone away."""


class Channel(Generic[T]):
    """A bounded single-consumer queue that producers in other threads can feed.

    ``put_threadsafe`` blocks the producing thread while the queue is full (backpressure)
    and raises :class:`ChannelClosed` once the consumer has stopped listening, so a
    worker thread never waits forever on an abandoned stream.
    """

    def __init__(self, maxsize: int = 64) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self._loop = asyncio.get_running_loop()
        self._closed = threading.Event()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def put_threadsafe(self, item: T) -> None:
        self._put_from_thread(item)

    def end_threadsafe(self, error: BaseException | None = None) -> None:
        """Mark the end of the stream (optionally with an error to raise to the consumer)."""
        try:
            self._put_from_thread(_Failure(error) if error is not None else _END)
        except ChannelClosed:
            return

    def _put_from_thread(self, item: Any) -> None:
        while not self._closed.is_set():
            try:
                future = asyncio.run_coroutine_threadsafe(self._queue.put(item), self._loop)
            except RuntimeError:  # the loop is closed
                self._closed.set()
                break
            while True:
                try:
                    future.result(timeout=0.25)
                    return
                except FutureTimeout:
                    if self._closed.is_set():
                        future.cancel()
                        raise ChannelClosed from None
        raise ChannelClosed

    def close(self) -> None:
        """The consumer is done: release any producer blocked on a full queue."""
        self._closed.set()
        while not self._queue.empty():
            self._queue.get_nowait()

    async def __aiter__(self) -> AsyncIterator[T]:
        try:
            while True:
                item = await self._queue.get()
                if item is _END:
                    return
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            self.close()


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def _call(handler: Callable[[Any], Awaitable[None] | None], value: Any) -> None:
    outcome = handler(value)
    if inspect.isawaitable(outcome):
        await outcome


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
            closer = getattr(source, "aclose", None)
            if closer is not None:
                await closer()

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
