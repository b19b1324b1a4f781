"""Realtime test harness: a real uvicorn server with the realtime router, real clients.

Each server is a minimal FastAPI app that mounts :meth:`RealtimeService.router` with a
token table for authentication and a real SQLite chat store; it runs under uvicorn on a
free loopback port in its own thread (``tests/server/live.py``). Clients are the
``websockets`` library, as a Python client author would use it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from fluent_ai.agent.agent import Agent
from fluent_ai.chat.open import open_chat_store
from fluent_ai.config import ServerSettings
from fluent_ai.server.realtime import RealtimeLimits, RealtimeService, build_broker
from tests.server.live import LiveServer, TokenAuthenticator, caller, serve

__all__ = ["TOKENS", "Client", "Realm", "open_client", "realm"]

T = TypeVar("T")

#: Who each test token is.
TOKENS = {
    "alice-token": caller("alice", "chat"),
    "bob-token": caller("bob", "chat"),
    "carol-token": caller("carol", "chat"),
    "admin-token": caller("root", "admin"),
    "embed-token": caller("embedder", "embeddings"),
    "impostor-token": caller("agent:helper", "chat"),
}


@dataclass
class Realm:
    """A running realtime server: its URL, service and event loop."""

    live: LiveServer
    service: RealtimeService
    loop: asyncio.AbstractEventLoop
    db: Path | str

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.live.port}/v1/realtime"

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the server's own event loop and wait for it from the test's."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))


@contextmanager
def realm(
    db: Path | str,
    *,
    settings: ServerSettings | None = None,
    agents: Callable[[str], Awaitable[Agent]] | None = None,
    redis_url: str | None = None,
    prefix: str = "fluent-ai:rt:",
    member_ttl: float = 60.0,
    limits: RealtimeLimits | None = None,
) -> Iterator[Realm]:
    """A realtime server over the chat store at ``db`` (a SQLite path or a PostgreSQL URL);
    stopped after the block."""
    store = open_chat_store(db)
    service = RealtimeService(
        settings or ServerSettings(),
        TokenAuthenticator(TOKENS),
        store,
        agents,
        build_broker(redis_url, prefix=prefix, member_ttl=member_ttl),
        limits=limits,
    )
    loops: list[asyncio.AbstractEventLoop] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.open()  # the service joins the broker at its first connection
        loops.append(asyncio.get_running_loop())
        try:
            yield
        finally:
            await service.aclose()
            await store.close()

    app = FastAPI(lifespan=lifespan)
    app.include_router(service.router())
    with serve(app) as live:
        yield Realm(live, service, loops[0], db)


class Client:
    """A test client: sends frames, reads events (answering nothing on its own)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.user = ""
        self.connection_id = ""
        #: Events read past while looking for another one.
        self.skipped: list[dict[str, Any]] = []

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, wait: float = 10.0, *, pings: bool = False) -> dict[str, Any]:
        """The next event (server ``ping`` events skipped unless ``pings``)."""
        while True:
            event: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), wait))
            if pings or event.get("type") != "ping":
                return event

    async def expect(self, kind: str, wait: float = 10.0, **fields: Any) -> dict[str, Any]:
        """The first event of type ``kind`` whose ``fields`` match, skipped or still to come.

        Events read past on the way are kept in :attr:`skipped`, so a later ``expect``
        finds them: it asserts that an event came, not what came between.
        """

        def matches(event: dict[str, Any]) -> bool:
            return event.get("type") == kind and all(event.get(k) == v for k, v in fields.items())

        for index, event in enumerate(self.skipped):
            if matches(event):
                return self.skipped.pop(index)
        async with asyncio.timeout(wait):
            while True:
                event = await self.recv(wait)
                if matches(event):
                    return event
                self.skipped.append(event)

    async def expect_any(self, *kinds: str, wait: float = 10.0) -> dict[str, Any]:
        """The first event (skipped or to come) whose type is one of ``kinds``."""
        for index, event in enumerate(self.skipped):
            if event.get("type") in kinds:
                return self.skipped.pop(index)
        async with asyncio.timeout(wait):
            while True:
                event = await self.recv(wait)
                if event.get("type") in kinds:
                    return event
                self.skipped.append(event)

    async def closed(self, wait: float = 15.0) -> tuple[int | None, str | None]:
        """Read (and drop) events until the server closes; its close code and reason."""
        async with asyncio.timeout(wait):
            try:
                while True:
                    self.skipped.append(json.loads(await self.ws.recv()))
            except ConnectionClosed:
                pass
        rcvd = self.ws.close_code, self.ws.close_reason
        return rcvd

    async def join(self, room: str, **extra: Any) -> dict[str, Any]:
        await self.send(type="join", room=room, **extra)
        return await self.expect("joined", room=room)

    async def close(self) -> None:
        await self.ws.close()


@asynccontextmanager
async def open_client(
    url: str, token: str | None, *, header: bool = True, ready: bool = True, **options: Any
) -> AsyncIterator[Client]:
    """A connected client: ``token`` in the Authorization header, or as the first frame."""
    if token is not None and header:
        options["additional_headers"] = {"Authorization": f"Bearer {token}"}
    options.setdefault("proxy", None)
    async with connect(url, **options) as ws:
        client = Client(ws)
        if token is not None and not header:
            await client.send(type="auth", token=token)
        if ready:
            hello = await client.expect("ready")
            client.user, client.connection_id = hello["user"], hello["connection_id"]
        yield client


@contextmanager
def realms() -> Iterator[Callable[..., Realm]]:
    """Start any number of servers; all are stopped after the block."""
    with ExitStack() as stack:

        def make(db: Path | str, **options: Any) -> Realm:
            return stack.enter_context(realm(db, **options))

        yield make
