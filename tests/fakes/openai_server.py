"""A real HTTP server on loopback that speaks OpenAI's Chat Completions protocol.

Built on the standard library (not on our code) so it is an independent peer: JSON and
SSE answers shaped like OpenAI's documentation, chunked transfer encoding, and faults on
demand: error statuses with ``Retry-After``, streams cut mid-way, malformed frames, a
slow first byte, stalls, CRLF line endings, frames split across writes.

Each request takes the next queued :class:`Behaviour` (or the default one); every
request is recorded for assertions.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Behaviour", "FakeOpenAIServer", "Recorded"]


@dataclass
class Behaviour:
    """How the server answers one request."""

    text: str = "Hello from the fake server."
    status: int = 200
    error_message: str = "something went wrong"
    error_code: str | None = None
    error_body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_headers: float = 0.0
    chunk_delay: float = 0.0
    cut_after: int | None = None
    malformed_after: int | None = None
    error_event_after: int | None = None
    stall_after: int | None = None
    stall_seconds: float = 0.0
    tool_calls: list[dict[str, Any]] | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    crlf: bool = False
    split_writes: bool = False
    comments: bool = False
    done_marker: bool = True
    json_for_stream: bool = False
    model: str | None = None
    raw_frames: list[Any] | None = None

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "error",
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Behaviour:
        return cls(status=status, error_message=message, error_code=code, headers=headers or {})


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class _QuietServer(ThreadingHTTPServer):
    """Clients hanging up on purpose (cancellation tests) are not server errors."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


class FakeOpenAIServer:
    """Start with :meth:`start` (or as a context manager); ``base_url`` ends in ``/v1``."""

    def __init__(self, *, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.default = Behaviour()
        self.requests: list[Recorded] = []
        self.disconnects = 0
        self.completed_streams = 0
        self.connections = 0
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
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

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting ---------------------------------------------------------------------

    def queue(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    def next_behaviour(self) -> Behaviour:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def record(self, entry: Recorded) -> None:
        with self._lock:
            self.requests.append(entry)

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAIServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # like real servers: small SSE frames leave at once

    def setup(self) -> None:
        super().setup()
        with self.fake._lock:
            self.fake.connections += 1

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- routing -----------------------------------------------------------------------

    def do_GET(self) -> None:
        self.fake.record(Recorded("GET", self.path, dict(self.headers), None))
        if self.path.rstrip("/").endswith("/models"):
            self._json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "fake"},
                    ],
                },
            )
            return
        self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.fake.record(Recorded("POST", self.path, dict(self.headers), body))
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        if body is None:
            self._json(400, {"error": {"message": "body is not JSON", "type": "invalid_request"}})
            return
        expected = self.fake.api_key
        if expected is not None and self.headers.get("authorization") != f"Bearer {expected}":
            self._json(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided.",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )
            return
        behaviour = self.fake.next_behaviour()
        if behaviour.delay_headers:
            time.sleep(behaviour.delay_headers)
        if behaviour.status != 200:
            self._error(behaviour)
            return
        if body.get("stream"):
            if behaviour.json_for_stream:
                self._json(200, self._completion(behaviour, body))
            else:
                self._stream(behaviour, body)
        else:
            self._json(200, self._completion(behaviour, body))

    # -- answers -----------------------------------------------------------------------

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, b: Behaviour) -> None:
        if b.error_body is not None:
            data = b.error_body.encode()
            self.send_response(b.status)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(data)))
            for key, value in b.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            return
        error = {"message": b.error_message, "type": "api_error", "code": b.error_code}
        self._json(b.status, {"error": error}, b.headers)

    def _usage(self, b: Behaviour, body: dict[str, Any]) -> dict[str, Any]:
        if b.usage is not None:
            return b.usage
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        completion = len(_pieces(b.text))
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0},
        }

    def _completion(self, b: Behaviour, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": b.text or None}
        if b.tool_calls:
            message["tool_calls"] = b.tool_calls
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": b.model or body.get("model", "unknown"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": b.finish_reason or ("tool_calls" if b.tool_calls else "stop"),
                }
            ],
            "usage": self._usage(b, body),
        }

    def _chunk(
        self, b: Behaviour, body: dict[str, Any], delta: dict[str, Any], finish: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": b.model or body.get("model", "unknown"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def _stream(self, b: Behaviour, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("cache-control", "no-cache")
        for key, value in b.headers.items():
            self.send_header(key, value)
        self.end_headers()
        eol = "\r\n" if b.crlf else "\n"
        frames: list[str] = []
        if b.raw_frames is not None:
            frames = [f"data: {json.dumps(f)}{eol}{eol}" for f in b.raw_frames]
            frames.append(f"data: [DONE]{eol}{eol}")
            for frame in frames:
                self._write(frame.encode(), False)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        if b.comments:
            frames.append(f": keep-alive{eol}{eol}")
        first = {"role": "assistant", "content": ""}
        frames.append(self._frame(self._chunk(b, body, first), eol))
        for piece in _pieces(b.text):
            frames.append(self._frame(self._chunk(b, body, {"content": piece}), eol))
        for index, call in enumerate(b.tool_calls or []):
            head = {
                "index": index,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            frames.append(self._frame(self._chunk(b, body, {"tool_calls": [head]}), eol))
            args = call["function"]["arguments"]
            for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                delta = {"tool_calls": [{"index": index, "function": {"arguments": part}}]}
                frames.append(self._frame(self._chunk(b, body, delta), eol))
        finish = b.finish_reason or ("tool_calls" if b.tool_calls else "stop")
        frames.append(self._frame(self._chunk(b, body, {}, finish), eol))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage_chunk = self._chunk(b, body, {})
            usage_chunk["choices"] = []
            usage_chunk["usage"] = self._usage(b, body)
            frames.append(self._frame(usage_chunk, eol))
        if b.done_marker:
            frames.append(f"data: [DONE]{eol}{eol}")
        try:
            for index, frame in enumerate(frames):
                content_index = index - (1 if b.comments else 0)
                if b.cut_after is not None and content_index > b.cut_after:
                    # half a frame, then the connection dies without the final chunk
                    self._write(frame[: len(frame) // 2].encode(), False)
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if b.malformed_after is not None and content_index == b.malformed_after + 1:
                    self._write(f'data: {{"choices": [{{"delta": {eol}{eol}'.encode(), False)
                if b.error_event_after is not None and content_index == b.error_event_after + 1:
                    error = {
                        "error": {
                            "message": b.error_message,
                            "type": "server_error",
                            "code": b.error_code,
                        }
                    }
                    self._write(self._frame(error, eol).encode(), False)
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                if b.stall_after is not None and content_index == b.stall_after + 1:
                    time.sleep(b.stall_seconds)
                if b.chunk_delay:
                    time.sleep(b.chunk_delay)
                self._write(frame.encode(), b.split_writes)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            self.fake.completed_streams += 1
        except (BrokenPipeError, ConnectionResetError):
            self.fake.disconnects += 1
            self.close_connection = True

    @staticmethod
    def _frame(payload: dict[str, Any], eol: str) -> str:
        return f"data: {json.dumps(payload)}{eol}{eol}"

    def _write(self, data: bytes, split: bool) -> None:
        pieces = [data[i : i + 1] for i in range(len(data))] if split else [data]
        for piece in pieces:
            self.wfile.write(f"{len(piece):X}\r\n".encode() + piece + b"\r\n")
            self.wfile.flush()
