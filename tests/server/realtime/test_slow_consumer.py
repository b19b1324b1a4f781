"""Backpressure: a client that stops reading is cut (4429); the room never waits for it."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from typing import Any

from fluent_ai.config import ServerSettings
from fluent_ai.server.realtime import RealtimeLimits
from tests.server.realtime.conftest import MakeRealm
from tests.server.realtime.support import Client, open_client

# Random (incompressible) text, so what piles up is real bytes, not a deflated trickle.
TEXTS = [os.urandom(6000).hex() for _ in range(4)]
BATCH = 50
MOST = 2000  # ~24 MB: far more than the kernel buffers between the server and carol


def _tiny_socket(port: int) -> socket.socket:
    """A client socket with a small receive buffer, so an idle reader fills up fast."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def _collect(client: Client, sink: list[dict[str, Any]], arrived: asyncio.Event) -> None:
    while True:
        sink.append(await client.recv(60))
        arrived.set()


def _texts(events: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in events if e["type"] == "message"]


async def _until(condition: Callable[[], bool], arrived: asyncio.Event) -> None:
    """Wait (at most 30 s) until ``condition`` holds, checking after each event."""
    async with asyncio.timeout(30):
        while not condition():
            arrived.clear()
            await arrived.wait()


async def test_a_slow_consumer_is_cut_without_stalling_the_room(make_realm: MakeRealm) -> None:
    realm = make_realm(
        settings=ServerSettings(ws_queue=8),
        limits=RealtimeLimits(frames_per_second=10_000, frame_burst=10_000),
    )
    url, port = realm.url, realm.live.port
    async with (
        open_client(url, "alice-token", compression=None) as sender,
        open_client(url, "bob-token", compression=None) as reader,
        open_client(
            url, "carol-token", compression=None, sock=_tiny_socket(port), max_queue=1
        ) as slow,
    ):
        for client in (sender, reader, slow):
            await client.join("busy")
        heard: list[dict[str, Any]] = []
        echoed: list[dict[str, Any]] = []
        arrived = asyncio.Event()
        collectors = [
            asyncio.create_task(_collect(reader, heard, arrived)),
            asyncio.create_task(_collect(sender, echoed, arrived)),
        ]
        offline = {"type": "presence", "room": "busy", "user": "carol", "status": "offline"}
        expected: list[str] = []
        cut_at = None
        try:
            while len(expected) < MOST:  # carol reads nothing meanwhile
                for _ in range(BATCH):
                    text = f"{len(expected)} {TEXTS[len(expected) % 4]}"
                    await sender.send(type="message", room="busy", text=text)
                    expected.append(text)
                await _until(lambda: len(_texts(heard)) == len(expected), arrived)
                if cut_at is not None:
                    break  # one more batch after the cut: the room kept going
                if offline in heard:
                    cut_at = len(expected)
            await _until(lambda: len(_texts(echoed)) == len(expected), arrived)
        finally:
            for task in collectors:
                task.cancel()
            await asyncio.gather(*collectors, return_exceptions=True)

        assert cut_at is not None, "carol was never cut off"
        assert _texts(heard) == expected  # every message, in order, to those who read
        assert _texts(echoed) == expected

        code, reason = await slow.closed(wait=30)
        assert code == 4429
        assert reason == "send queue full: client too slow"
        got = _texts(slow.skipped)
        assert got == expected[: len(got)]  # what carol did get came in order, then the cut
        assert len(got) < cut_at
