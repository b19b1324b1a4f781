"""Fixtures for driving :class:`HttpTransport` against real loopback servers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import pytest

from fluent_ai.providers.openai_wire import map_http_error
from fluent_ai.transport import (
    BreakerRegistry,
    ClientPool,
    HttpTransport,
    RetryPolicy,
    Timeouts,
    TransportConfig,
)
from tests.fakes.openai_server import FakeOpenAIServer

FAST_RETRY = RetryPolicy(
    max_retries=2, base_delay=0.01, max_delay=0.05, max_retry_after=5.0, deadline=15.0
)
TIMEOUTS = Timeouts(connect=2.0, read=3.0, write=2.0, pool=2.0)
CHAT: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
STREAM: dict[str, Any] = {**CHAT, "stream": True}


class MakeTransport(Protocol):
    def __call__(
        self,
        *,
        base_url: str | None = None,
        key: str = "sk-test",
        retry: RetryPolicy = FAST_RETRY,
        timeouts: Timeouts = TIMEOUTS,
        max_concurrency: int = 64,
        breakers: BreakerRegistry | None = None,
    ) -> HttpTransport: ...


@pytest.fixture
async def pool() -> AsyncIterator[ClientPool]:
    """A private client pool, closed when the test ends."""
    pool = ClientPool()
    yield pool
    await pool.aclose()


@pytest.fixture
def breakers() -> BreakerRegistry:
    """A private breaker registry that stays closed unless a test wants otherwise."""
    return BreakerRegistry(failure_threshold=100)


@pytest.fixture
def make_transport(
    fake_openai: FakeOpenAIServer, pool: ClientPool, breakers: BreakerRegistry
) -> MakeTransport:
    def make(
        *,
        base_url: str | None = None,
        key: str = "sk-test",
        retry: RetryPolicy = FAST_RETRY,
        timeouts: Timeouts = TIMEOUTS,
        max_concurrency: int = 64,
        breakers: BreakerRegistry | None = breakers,
    ) -> HttpTransport:
        return HttpTransport(
            base_url or fake_openai.base_url,
            provider="openai",
            headers={"authorization": f"Bearer {key}"},
            map_error=map_http_error("openai"),
            config=TransportConfig(timeouts=timeouts, retry=retry, max_concurrency=max_concurrency),
            pool=pool,
            breakers=breakers,
        )

    return make


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raw_response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class RawServer:
    """Answers every request with the same raw bytes: for what the fake server cannot send.

    Several pieces are written separately, a short pause apart, so that they reach the
    client in separate reads.
    """

    def __init__(self, pieces: tuple[bytes, ...]) -> None:
        self.pieces = pieces
        self.requests = 0
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        self.requests += 1
        for index, piece in enumerate(self.pieces):
            if index:
                await asyncio.sleep(0.2)
            writer.write(piece)
            await writer.drain()
        writer.close()
        await writer.wait_closed()


RunRawServer = Callable[..., AbstractAsyncContextManager[RawServer]]


@pytest.fixture
def raw_server() -> RunRawServer:
    """``async with raw_server(*pieces) as server`` runs a :class:`RawServer` on loopback."""

    @asynccontextmanager
    async def run(*pieces: bytes) -> AsyncIterator[RawServer]:
        server = RawServer(pieces)
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        server.port = int(listener.sockets[0].getsockname()[1])
        try:
            yield server
        finally:
            listener.close()
            await listener.wait_closed()

    return run
