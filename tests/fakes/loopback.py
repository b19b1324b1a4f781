"""What every loopback fake server shares: lifecycle, scripting, recording, wire helpers.

Standard library only, and never fluent_ai: the fakes are independent peers of our client,
so the plumbing they share lives here rather than in the code under test. A fake is a
:class:`LoopbackServer` (an ephemeral port on 127.0.0.1, a queue of scripted behaviours,
the requests it saw) with a :class:`LoopbackHandler` subclass that speaks its API. Bodies,
streamed ones included, are written by hand (chunked encoding too) so that faults can be.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Generic, Self, TypeVar

__all__ = [
    "NO_CACHE",
    "LoopbackHandler",
    "LoopbackServer",
    "QuietServer",
    "Recorded",
    "json_or_none",
    "pieces",
]

B = TypeVar("B")
R = TypeVar("R")

#: The header event streams carry, as real APIs send it.
NO_CACHE: Mapping[str, str] = {"cache-control": "no-cache"}


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


def pieces(text: str) -> list[str]:
    """``text`` in word-sized pieces, as a stream delivers it."""
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []


def json_or_none(raw: bytes) -> Any:
    """The JSON in ``raw``, or ``None``: each fake answers an unreadable body its own way."""
    try:
        return json.loads(raw)
    except ValueError:
        return None


class QuietServer(ThreadingHTTPServer):
    """Clients hanging up on purpose (cancellation tests) are not server errors."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


class LoopbackServer(Generic[B, R]):
    """A fake's lifecycle, its queue of behaviours ``B`` and its log of requests ``R``.

    Each request takes the next queued behaviour (or ``default``). Subclasses name their
    handler in :meth:`_handler_class` and what ``base_url`` ends in with ``base_path``.
    """

    base_path: ClassVar[str] = ""

    def __init__(self, default: B) -> None:
        self.default = default
        self.requests: list[R] = []
        self.connections = 0
        self._queue: deque[B] = deque()
        self._lock = threading.Lock()
        self._httpd: QuietServer | None = None
        self._thread: threading.Thread | None = None

    def _handler_class(self) -> type[LoopbackHandler]:
        """The handler speaking this fake's API (a method, so it may be defined later)."""
        raise NotImplementedError

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        handler = type("Handler", (self._handler_class(),), {"fake": self})
        self._httpd = QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_path}"

    # -- scripting and recording -------------------------------------------------------

    def queue(self, *behaviours: B) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    def next_behaviour(self) -> B:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def record(self, entry: R) -> None:
        with self._lock:
            self.requests.append(entry)


class LoopbackHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no logging, counted connections, hand-written bodies.

    ``json_type`` is the content type of JSON answers; ``answer_headers`` go on every
    whole (not streamed) answer, as a request id does on real APIs.
    """

    fake: LoopbackServer[Any, Any]
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # like real servers: small stream frames leave at once
    json_type: ClassVar[str] = "application/json"
    answer_headers: ClassVar[Mapping[str, str]] = {}

    def setup(self) -> None:
        super().setup()
        with self.fake._lock:
            self.fake.connections += 1

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- requests ----------------------------------------------------------------------

    def _read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _read_json(self) -> Any:
        """The request body as JSON, ``None`` when it is not JSON."""
        return json_or_none(self._read_body())

    # -- whole answers -----------------------------------------------------------------

    def _send_bytes(
        self,
        status: int,
        data: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        for extra in (self.answer_headers, headers or {}):
            for key, value in extra.items():
                self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), self.json_type, headers)

    # -- chunked answers ---------------------------------------------------------------

    def _open_chunked(self, content_type: str, *headers: Mapping[str, str]) -> None:
        """Start a 200 answer whose body follows in chunks (:meth:`_write`)."""
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("transfer-encoding", "chunked")
        for extra in headers:
            for key, value in extra.items():
                self.send_header(key, value)
        self.end_headers()

    def _write(self, data: bytes | str, split: bool = False) -> None:
        """One chunk, flushed at once; ``split`` sends a chunk a byte to test reassembly."""
        raw = data.encode() if isinstance(data, str) else data
        parts = [raw[i : i + 1] for i in range(len(raw))] if split else [raw]
        for part in parts:
            self.wfile.write(f"{len(part):X}\r\n".encode() + part + b"\r\n")
            self.wfile.flush()

    def _end_chunks(self) -> None:
        """The last, empty chunk: the body ended cleanly."""
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _hang_up(self) -> None:
        """Drop the connection mid-body, as a crashing upstream does."""
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    @contextmanager
    def _client_may_leave(self) -> Iterator[None]:
        """A client leaving mid-stream (on purpose in cancellation tests) ends the answer."""
        try:
            yield
        except (BrokenPipeError, ConnectionResetError):
            self._on_disconnect()

    def _on_disconnect(self) -> None:
        self.close_connection = True
