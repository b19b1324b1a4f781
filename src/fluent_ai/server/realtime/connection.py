"""One WebSocket client: a bounded send queue drained by its own writer task.

Room broadcasts call :meth:`Connection.send`, which never awaits: it puts the encoded
event on the connection's queue or, when the queue is full (the client reads slower than
the room talks), marks the connection to be closed with 4429. A client that cannot keep
up therefore loses its connection, never the room its speed. Whoever runs the connection
waits on :meth:`Connection.wait_closing` and then calls :meth:`Connection.finish`,
which flushes what is queued (unless the client was too slow) and closes the socket.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Final

from starlette.websockets import WebSocket, WebSocketDisconnect

from fluent_ai.auth.principal import Principal
from fluent_ai.server.realtime.protocol import Status

__all__ = ["CLOSE_CODES", "CloseRequest", "Connection", "FrameBucket"]

log = logging.getLogger("fluent_ai.server.realtime")

#: The close codes of the protocol (``docs/realtime.md``).
CLOSE_CODES: Final[dict[str, int]] = {
    "normal": 1000,
    "going_away": 1001,
    "too_big": 1009,
    "unavailable": 1011,
    "unauthenticated": 4401,
    "forbidden": 4403,
    "heartbeat_timeout": 4408,
    "too_slow": 4429,
}
SLOW_REASON: Final = "send queue full: client too slow"
_PEER_GONE: Final = 1006
_SEND_FAILURES = (WebSocketDisconnect, RuntimeError, OSError)


@dataclass(frozen=True, slots=True)
class CloseRequest:
    """Why a connection ends: the code and reason sent, whether queued events go first.

    ``peer_gone``: the client closed or vanished, so nothing more is sent.
    """

    code: int
    reason: str = ""
    flush: bool = True
    peer_gone: bool = False


class FrameBucket:
    """A token bucket: ``rate`` frames per second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._stamp = now

    def take(self, now: float) -> bool:
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class _Flush:
    """The queue item that tells the writer to close after what came before it."""


_FLUSH: Final = _Flush()


class Connection:
    """An authenticated client: who it is, where it is, and its outgoing queue."""

    def __init__(
        self,
        websocket: WebSocket,
        principal: Principal,
        *,
        queue_size: int,
        bucket: FrameBucket,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.websocket = websocket
        self.principal = principal
        self.id = secrets.token_hex(8)
        self.user = principal.subject
        self.status: Status = "online"
        self.rooms: set[str] = set()
        self.bucket = bucket
        self.last_seen = loop.time()
        # One slot more than the limit, so the flush marker always fits behind the events.
        self._queue: asyncio.Queue[str | _Flush] = asyncio.Queue(queue_size + 1)
        self._limit = queue_size
        self._held: dict[str, list[str]] = {}
        self._closing: asyncio.Future[CloseRequest] = loop.create_future()
        self._writer: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"Connection(id={self.id!r}, user={self.user!r})"

    @property
    def closing(self) -> bool:
        return self._closing.done()

    def start(self) -> None:
        """Start the writer task (once the handshake is over)."""
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(
                self._write(), name=f"realtime-writer-{self.id}"
            )

    def send(self, text: str) -> bool:
        """Queue an encoded event; never waits. ``False`` if it was not queued.

        A full queue means the client is too slow: the connection is marked for closing
        with 4429 and receives nothing more.
        """
        if self._closing.done():
            return False
        if self._queue.qsize() >= self._limit:
            self.request_close(CLOSE_CODES["too_slow"], SLOW_REASON, flush=False)
            return False
        self._queue.put_nowait(text)
        return True

    def deliver(self, room: str, text: str) -> bool:
        """A room event: sent now, or held while this connection is joining ``room``."""
        held = self._held.get(room)
        if held is None:
            return self.send(text)
        if len(held) >= self._limit:
            self.request_close(CLOSE_CODES["too_slow"], SLOW_REASON, flush=False)
            return False
        held.append(text)
        return True

    def hold(self, room: str) -> None:
        """Keep ``room``'s events back until :meth:`release` (the ``joined`` reply goes first)."""
        self._held.setdefault(room, [])

    def release(
        self, room: str, first: str | None = None, seen: frozenset[str] = frozenset()
    ) -> None:
        """Send ``first`` and then the held events, minus messages whose id is in ``seen``.

        ``seen`` is the history the ``joined`` reply carried: a message stored while the
        join was reading it arrives both ways, and is sent once.
        """
        held = self._held.pop(room, [])
        if first is not None:
            self.send(first)
        for text in held:
            if seen and _message_id(text) in seen:
                continue
            self.send(text)

    def request_close(
        self, code: int, reason: str = "", *, flush: bool = True, peer_gone: bool = False
    ) -> None:
        """Ask for the connection to end; the first request wins."""
        if not self._closing.done():
            self._closing.set_result(CloseRequest(code, reason, flush, peer_gone))

    async def wait_closing(self) -> CloseRequest:
        return await asyncio.shield(self._closing)

    def touch(self, now: float) -> None:
        """The client sent a frame: it is alive."""
        self.last_seen = now

    async def _write(self) -> None:
        while True:
            item = await self._queue.get()
            if isinstance(item, _Flush):
                return
            try:
                await self.websocket.send_text(item)
            except _SEND_FAILURES:
                self.request_close(_PEER_GONE, peer_gone=True)
                return
            except Exception:  # a bug: end the connection rather than leave it mute
                log.exception("realtime: %s could not be sent an event", self)
                self.request_close(CLOSE_CODES["unavailable"], "internal error", flush=False)
                return

    async def finish(self, grace: float) -> CloseRequest:
        """Flush (if asked), send the close frame, stop the writer; bounded by ``grace`` s each.

        Call after :meth:`request_close`. A client that does not read within ``grace``
        is left to the server's transport to drop; nothing here waits longer than that.
        """
        request = await self.wait_closing()
        writer = self._writer
        if writer is not None and not writer.done():
            if request.flush and not request.peer_gone:
                self._queue.put_nowait(_FLUSH)
                try:
                    await asyncio.wait_for(writer, grace)
                except TimeoutError:
                    log.info("realtime: %s did not read its last events in time", self)
            else:
                writer.cancel()
                await asyncio.gather(writer, return_exceptions=True)
        if not request.peer_gone:
            try:
                await asyncio.wait_for(
                    self.websocket.close(request.code, _short(request.reason)), grace
                )
            except TimeoutError:
                log.info("realtime: %s did not take its close frame in time", self)
            except _SEND_FAILURES:
                log.debug("realtime: %s went away before its close frame", self)
        return request


def _message_id(text: str) -> str | None:
    event = json.loads(text)
    if isinstance(event, dict) and event.get("type") == "message":
        value = event.get("id")
        return value if isinstance(value, str) else None
    return None


def _short(reason: str) -> str:
    """A close reason within the 123 bytes a close frame allows."""
    return reason.encode()[:123].decode(errors="ignore")
