"""Channel: the bounded hand-over from producer threads to the event loop (no model needed).

Time bounds here are hang guards, never speed assertions.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from fluent_ai.errors import StreamInterruptedError
from fluent_ai.streams import Channel, ChannelClosed, ChannelTimeout

GUARD = 30.0  # seconds: only ever reached when something hangs


async def _drain(channel: Channel[int]) -> list[int]:
    return [item async for item in channel]


async def test_items_arrive_in_order_through_a_small_channel() -> None:
    channel: Channel[int] = Channel(maxsize=3)

    def produce() -> None:
        for i in range(300):
            channel.put_threadsafe(i, timeout=GUARD)
        channel.end_threadsafe()

    producer = asyncio.create_task(asyncio.to_thread(produce))
    received = await asyncio.wait_for(_drain(channel), GUARD)
    await producer
    assert received == list(range(300))


async def test_a_full_channel_times_out_and_the_stream_keeps_what_was_produced() -> None:
    channel: Channel[int] = Channel(maxsize=2)
    outcome: list[BaseException] = []

    def produce() -> None:
        channel.put_threadsafe(1, timeout=0.1)
        channel.put_threadsafe(2, timeout=0.1)
        try:
            channel.put_threadsafe(3, timeout=0.2)  # nobody reads: no room appears
        except ChannelTimeout as exc:
            outcome.append(exc)
            channel.end_threadsafe(StreamInterruptedError("stalled"), tail=(3,))

    started = time.monotonic()
    await asyncio.wait_for(asyncio.to_thread(produce), GUARD)
    assert time.monotonic() - started >= 0.2, "the producer waited for its timeout"
    assert isinstance(outcome[0], ChannelTimeout)
    assert isinstance(outcome[0], TimeoutError)
    received: list[int] = []

    async def consume() -> None:
        async for item in channel:
            received.append(item)

    with pytest.raises(StreamInterruptedError, match="stalled"):
        await asyncio.wait_for(consume(), GUARD)
    assert received == [1, 2, 3], "buffered items, then the tail, then the error"


async def test_a_blocked_producer_resumes_when_the_consumer_takes_an_item() -> None:
    channel: Channel[int] = Channel(maxsize=1)
    second_queued = threading.Event()

    def produce() -> None:
        channel.put_threadsafe(1)
        channel.put_threadsafe(2)  # blocks until the consumer has taken 1
        second_queued.set()
        channel.end_threadsafe()

    producer = asyncio.create_task(asyncio.to_thread(produce))
    await asyncio.sleep(0.2)
    assert not second_queued.is_set(), "a full channel blocks its producer"
    assert await asyncio.wait_for(_drain(channel), GUARD) == [1, 2]
    await producer


async def test_timeout_zero_fails_at_once_only_when_full() -> None:
    channel: Channel[int] = Channel(maxsize=1)
    await asyncio.to_thread(channel.put_threadsafe, 1, 0)
    with pytest.raises(ChannelTimeout):
        await asyncio.to_thread(channel.put_threadsafe, 2, 0)
    channel.close()


async def test_close_releases_a_producer_blocked_without_a_timeout() -> None:
    channel: Channel[int] = Channel(maxsize=1)

    def produce() -> None:
        channel.put_threadsafe(1)
        channel.put_threadsafe(2)  # waits for room forever, unless the consumer leaves

    producer = asyncio.create_task(asyncio.to_thread(produce))
    await asyncio.sleep(0.1)
    channel.close()
    with pytest.raises(ChannelClosed):
        await asyncio.wait_for(producer, GUARD)
    assert channel.closed
    with pytest.raises(ChannelClosed):
        await asyncio.to_thread(channel.put_threadsafe, 3)


async def test_close_from_another_thread_releases_the_producer() -> None:
    """The interpreter-exit hook closes channels from the main thread, not the loop's."""
    channel: Channel[int] = Channel(maxsize=1)
    channel_full = threading.Event()

    def produce() -> None:
        channel.put_threadsafe(1)
        channel_full.set()
        channel.put_threadsafe(2)

    producer = asyncio.create_task(asyncio.to_thread(produce))
    await asyncio.to_thread(channel_full.wait, GUARD)
    await asyncio.sleep(0.05)
    await asyncio.to_thread(channel.close)
    with pytest.raises(ChannelClosed):
        await asyncio.wait_for(producer, GUARD)


async def test_a_consumer_that_leaves_early_stops_the_producer() -> None:
    channel: Channel[int] = Channel(maxsize=2)
    stopped_at: list[int] = []

    def produce() -> None:
        for i in range(10_000):
            try:
                channel.put_threadsafe(i)
            except ChannelClosed:
                stopped_at.append(i)
                return

    producer = asyncio.create_task(asyncio.to_thread(produce))
    items = aiter(channel)
    assert await asyncio.wait_for(anext(items), GUARD) == 0
    await items.aclose()  # type: ignore[attr-defined]
    await asyncio.wait_for(producer, GUARD)
    assert stopped_at, "the producer was told the consumer left"
    assert stopped_at[0] < 10_000


async def test_end_never_blocks_and_only_the_first_end_counts() -> None:
    channel: Channel[int] = Channel(maxsize=1)

    def produce() -> None:
        channel.put_threadsafe(1)
        channel.end_threadsafe()  # the channel is full: the end goes past the bound
        channel.end_threadsafe(StreamInterruptedError("late"))
        with pytest.raises(ChannelClosed):
            channel.put_threadsafe(2, timeout=1)

    await asyncio.wait_for(asyncio.to_thread(produce), GUARD)
    assert await asyncio.wait_for(_drain(channel), GUARD) == [1]


def test_a_closed_loop_is_a_closed_channel() -> None:
    async def make() -> Channel[int]:
        return Channel(maxsize=1)

    channel = asyncio.run(make())
    with pytest.raises(ChannelClosed):
        channel.put_threadsafe(1, timeout=1)
    channel.end_threadsafe()  # nothing to do, and no error


async def test_a_channel_needs_room() -> None:
    with pytest.raises(ValueError, match="room"):
        Channel(maxsize=0)
