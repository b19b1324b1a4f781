"""Thin synchronous wrappers over the async API, for scripts and notebooks-without-loops.

Sync calls run their coroutine on one long-lived background event loop (a daemon
thread), so pooled connections and the loaded local model are reused between calls
instead of being rebuilt by a fresh ``asyncio.run`` each time. Calling a sync wrapper
from inside a running event loop would block that loop, so it is refused with a clear
error that names the async form.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

__all__ = ["iterate_sync", "run_sync"]

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _portal() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="fluent-ai-sync", daemon=True)
            thread.start()
            _loop = loop
        return _loop


def _refuse_inside_loop(alternative: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(f"this is the blocking form; inside async code use {alternative} instead")


def run_sync(coro: Coroutine[Any, Any, T], *, alternative: str = "the async method") -> T:
    """Run ``coro`` to completion on the background loop and return its result.

    Ctrl-C (KeyboardInterrupt) cancels the coroutine before re-raising.
    """
    try:
        _refuse_inside_loop(alternative)
    except RuntimeError:
        coro.close()
        raise
    future = asyncio.run_coroutine_threadsafe(coro, _portal())
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()
        raise


def iterate_sync(aiter: AsyncIterator[T], *, alternative: str = "async for") -> Iterator[T]:
    """Iterate an async iterator from sync code, one item at a time."""
    _refuse_inside_loop(alternative)
    loop = _portal()
    anext_ = aiter.__anext__
    try:
        while True:
            future = asyncio.run_coroutine_threadsafe(_next(anext_), loop)
            try:
                done, item = future.result()
            except KeyboardInterrupt:
                future.cancel()
                raise
            if done:
                return
            yield item
    finally:
        # An iterator left half-read is closed while the interpreter finalizes, when the
        # loop's daemon thread can no longer run: waiting for it then would hang the exit.
        closer = getattr(aiter, "aclose", None)
        if closer is not None and not sys.is_finalizing():
            asyncio.run_coroutine_threadsafe(closer(), loop).result()


async def _next(anext_: Any) -> tuple[bool, Any]:
    try:
        return False, await anext_()
    except StopAsyncIteration:
        return True, None
