"""``/v1/realtime``: the WebSocket endpoint and the lifetime of each connection.

A connection is accepted, authenticated (:mod:`.handshake`), greeted with ``ready``,
then served by three tasks until it ends: a reader (frames in, checked for size and
rate, carried out by :class:`~.actions.RoomActions`), a writer (its bounded queue out)
and a heartbeat (``ping`` every ``heartbeat_interval``; silence past
``heartbeat_timeout`` closes it with 4408). However it ends, it leaves its rooms first,
so the others see it go ``offline``. See ``docs/realtime.md`` for the protocol.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from fastapi import APIRouter
from starlette.websockets import WebSocket, WebSocketDisconnect

from fluent_ai.chat.store import ChatStore
from fluent_ai.config import ServerSettings
from fluent_ai.errors import InvalidParameterError
from fluent_ai.server.realtime.actions import RoomActions
from fluent_ai.server.realtime.agent_member import AgentFactory, AgentMember
from fluent_ai.server.realtime.broker import Broker, BrokerUnavailableError
from fluent_ai.server.realtime.connection import CLOSE_CODES, Connection, FrameBucket
from fluent_ai.server.realtime.handshake import authenticate, frame_too_big, text_size
from fluent_ai.server.realtime.limits import RealtimeLimits
from fluent_ai.server.realtime.persistence import RoomArchive
from fluent_ai.server.realtime.protocol import FrameError, encode, error_event, parse_frame
from fluent_ai.server.state import Authenticator, RequestLimiter

__all__ = ["PATH", "RealtimeService"]

log = logging.getLogger("fluent_ai.server.realtime")

#: Where the endpoint is mounted.
PATH = "/v1/realtime"
_PING = encode({"type": "ping"})


class RealtimeService:
    """Realtime chat rooms for one server process (one replica).

    ``store`` is opened and closed by the caller. ``agents`` builds the agent a room
    asks for (``None``: rooms have no agents); ``limiter`` (optional) counts each agent
    reply against the limits of the person whose message it answers. The service owns
    ``broker``: :meth:`aclose` closes it.
    """

    def __init__(
        self,
        settings: ServerSettings,
        authenticator: Authenticator,
        store: ChatStore,
        agents: AgentFactory | None,
        broker: Broker,
        *,
        limiter: RequestLimiter | None = None,
        limits: RealtimeLimits | None = None,
    ) -> None:
        if settings.heartbeat_timeout <= settings.heartbeat_interval:
            raise InvalidParameterError(
                "server.heartbeat_timeout",
                f"must exceed heartbeat_interval ({settings.heartbeat_interval:g} s), "
                f"got {settings.heartbeat_timeout:g} s",
            )
        self.settings = settings
        self.authenticator = authenticator
        self.broker = broker
        self.limits = limits or RealtimeLimits()
        archive = RoomArchive(store)
        self.actions = RoomActions(
            broker=broker,
            archive=archive,
            agents=None,
            limits=self.limits,
            typing_ttl=settings.typing_ttl,
        )
        if agents is not None:
            self.actions.agents = AgentMember(
                agents,
                archive,
                self.actions.broadcast,
                history=self.limits.agent_history,
                backlog=self.limits.agent_backlog,
                timeout=settings.upstream_timeout,
                limiter=limiter,
            )
        self._connections: dict[str, Connection] = {}
        self._ended: dict[str, asyncio.Event] = {}
        self._start_lock = asyncio.Lock()
        self._started = False
        self._closing = False

    @property
    def connections(self) -> int:
        """How many clients are connected to this replica."""
        return len(self._connections)

    def router(self) -> APIRouter:
        """The endpoint, to include in the app: ``app.include_router(service.router())``."""
        router = APIRouter()
        router.add_api_websocket_route(PATH, self.handle, name="realtime")
        return router

    async def start(self) -> None:
        """Join the other replicas (done by the first connection if not called before)."""
        async with self._start_lock:
            if not self._started:
                await self.broker.start(self.actions.on_remote)
                self._started = True

    async def handle(self, websocket: WebSocket) -> None:
        """Serve one WebSocket client from handshake to close."""
        try:
            await websocket.accept()
            if self._closing:
                await websocket.close(CLOSE_CODES["going_away"], "server shutting down")
                return
            try:
                await self.start()
            except BrokerUnavailableError as exc:
                log.warning("realtime: refusing a client: %s", exc)
                await websocket.send_text(encode(error_event("unavailable", str(exc))))
                await websocket.close(CLOSE_CODES["unavailable"], "rooms unavailable")
                return
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            log.debug("realtime: a client left during the handshake: %s", type(exc).__name__)
            return
        principal = await authenticate(
            websocket,
            self.authenticator,
            max_bytes=self.settings.ws_max_message_bytes,
            wait=self.limits.auth_timeout,
        )
        if principal is None:
            return
        loop = asyncio.get_running_loop()
        bucket = FrameBucket(self.limits.frames_per_second, self.limits.frame_burst, loop.time())
        connection = Connection(
            websocket, principal, queue_size=self.settings.ws_queue, bucket=bucket
        )
        ended = asyncio.Event()
        self._connections[connection.id] = connection
        self._ended[connection.id] = ended
        try:
            connection.start()
            ready = {"type": "ready", "user": connection.user, "connection_id": connection.id}
            connection.send(encode(ready))
            if self._closing:
                connection.request_close(CLOSE_CODES["going_away"], "server shutting down")
            await self._serve(connection)
        finally:
            # Cancelled (a forced shutdown) rather than closed: still end it properly.
            connection.request_close(CLOSE_CODES["going_away"], "server shutting down")
            try:
                await self.actions.disconnect(connection)
            finally:
                request = await connection.finish(self.limits.close_timeout)
                log.debug("realtime: %s closed (%s %s)", connection, request.code, request.reason)
                del self._connections[connection.id]
                del self._ended[connection.id]
                ended.set()

    async def _serve(self, connection: Connection) -> None:
        loop = asyncio.get_running_loop()
        tasks = [
            loop.create_task(
                self._guard(connection, self._read(connection)),
                name=f"realtime-read-{connection.id}",
            ),
            loop.create_task(
                self._guard(connection, self._heartbeat(connection)),
                name=f"realtime-beat-{connection.id}",
            ),
        ]
        try:
            await connection.wait_closing()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    @staticmethod
    async def _guard(connection: Connection, work: Coroutine[Any, Any, None]) -> None:
        """Run one of a connection's tasks; a bug ends the connection (1011), not the loop."""
        try:
            await work
        except Exception:
            log.exception("realtime: %s failed", connection)
            connection.request_close(CLOSE_CODES["unavailable"], "internal error")

    async def _read(self, connection: Connection) -> None:
        """Frames in, one at a time (so each client's frames take effect in order)."""
        loop = asyncio.get_running_loop()
        limit = self.settings.ws_max_message_bytes
        websocket = connection.websocket
        while True:
            try:
                message = await websocket.receive()
            except (WebSocketDisconnect, RuntimeError, OSError):
                message = {"type": "websocket.disconnect"}
            if message["type"] == "websocket.disconnect":
                connection.request_close(message.get("code") or 1005, peer_gone=True)
                return
            now = loop.time()
            connection.touch(now)
            text: str | None = message.get("text")
            data: bytes | None = message.get("bytes")
            size = text_size(text, limit) if text is not None else len(data or b"")
            too_big = frame_too_big(size, limit)
            if too_big is not None:
                connection.request_close(CLOSE_CODES["too_big"], too_big)
                return
            try:
                if not connection.bucket.take(now):
                    rate = self.limits.frames_per_second
                    raise FrameError("rate_limited", f"more than {rate:g} frames/s: frame dropped")
                if text is None:
                    raise FrameError("binary_not_supported", "frames must be JSON text")
                await self.actions.dispatch(connection, parse_frame(text))
            except FrameError as exc:
                connection.send(encode(exc.event()))

    async def _heartbeat(self, connection: Connection) -> None:
        """Ping every ``heartbeat_interval``; 4408 after ``heartbeat_timeout`` of silence."""
        loop = asyncio.get_running_loop()
        interval, timeout = self.settings.heartbeat_interval, self.settings.heartbeat_timeout
        next_ping = loop.time() + interval
        while True:
            now = loop.time()
            if now - connection.last_seen >= timeout:
                reason = f"heartbeat timeout: no frame for {timeout:g} s"
                connection.request_close(CLOSE_CODES["heartbeat_timeout"], reason)
                return
            if now >= next_ping:
                connection.send(_PING)
                next_ping = now + interval
            await asyncio.sleep(min(next_ping, connection.last_seen + timeout) - now)

    async def aclose(self) -> None:
        """Shut down: let agent replies finish (``shutdown_grace``), close clients with 1001."""
        if self._closing:
            return
        self._closing = True
        if self.actions.agents is not None:
            await self.actions.agents.aclose(self.settings.shutdown_grace)
        for connection in list(self._connections.values()):
            connection.request_close(CLOSE_CODES["going_away"], "server shutting down")
        ended = [event.wait() for event in self._ended.values()]
        if ended:
            try:
                await asyncio.wait_for(asyncio.gather(*ended), 2 * self.limits.close_timeout + 5)
            except TimeoutError:
                log.warning("realtime: %d connection(s) did not close in time", self.connections)
        await self.actions.aclose()
        await self.broker.aclose()
