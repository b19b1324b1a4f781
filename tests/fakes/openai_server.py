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
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.loopback import NO_CACHE, LoopbackHandler, LoopbackServer, Recorded, pieces

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


class FakeOpenAIServer(LoopbackServer[Behaviour, Recorded]):
    """Start with :meth:`start` (or as a context manager); ``base_url`` ends in ``/v1``."""

    base_path = "/v1"

    def __init__(self, *, api_key: str | None = None) -> None:
        super().__init__(Behaviour())
        self.api_key = api_key
        self.disconnects = 0
        self.completed_streams = 0

    def _handler_class(self) -> type[LoopbackHandler]:
        return _Handler

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]


class _Handler(LoopbackHandler):
    fake: FakeOpenAIServer

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
        body = self._read_json()
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

    def _error(self, b: Behaviour) -> None:
        if b.error_body is not None:
            self._send_bytes(b.status, b.error_body.encode(), "text/plain", b.headers)
            return
        error = {"message": b.error_message, "type": "api_error", "code": b.error_code}
        self._json(b.status, {"error": error}, b.headers)

    def _usage(self, b: Behaviour, body: dict[str, Any]) -> dict[str, Any]:
        if b.usage is not None:
            return b.usage
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        completion = len(pieces(b.text))
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
        self._open_chunked("text/event-stream", NO_CACHE, b.headers)
        eol = "\r\n" if b.crlf else "\n"
        frames: list[str] = []
        if b.raw_frames is not None:
            frames = [f"data: {json.dumps(f)}{eol}{eol}" for f in b.raw_frames]
            frames.append(f"data: [DONE]{eol}{eol}")
            for frame in frames:
                self._write(frame)
            self._end_chunks()
            return
        if b.comments:
            frames.append(f": keep-alive{eol}{eol}")
        first = {"role": "assistant", "content": ""}
        frames.append(self._frame(self._chunk(b, body, first), eol))
        for piece in pieces(b.text):
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
        with self._client_may_leave():
            for index, frame in enumerate(frames):
                content_index = index - (1 if b.comments else 0)
                if b.cut_after is not None and content_index > b.cut_after:
                    # half a frame, then the connection dies without the final chunk
                    self._write(frame[: len(frame) // 2])
                    self._hang_up()
                    return
                if b.malformed_after is not None and content_index == b.malformed_after + 1:
                    self._write(f'data: {{"choices": [{{"delta": {eol}{eol}')
                if b.error_event_after is not None and content_index == b.error_event_after + 1:
                    error = {
                        "error": {
                            "message": b.error_message,
                            "type": "server_error",
                            "code": b.error_code,
                        }
                    }
                    self._write(self._frame(error, eol))
                    self._end_chunks()
                    return
                if b.stall_after is not None and content_index == b.stall_after + 1:
                    time.sleep(b.stall_seconds)
                if b.chunk_delay:
                    time.sleep(b.chunk_delay)
                self._write(frame, b.split_writes)
            self._end_chunks()
            self.fake.completed_streams += 1

    @staticmethod
    def _frame(payload: dict[str, Any], eol: str) -> str:
        return f"data: {json.dumps(payload)}{eol}{eol}"

    def _on_disconnect(self) -> None:
        self.fake.disconnects += 1
        super()._on_disconnect()
