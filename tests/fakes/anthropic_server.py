"""A real HTTP server on loopback that speaks Anthropic's Messages API.

Standard library only (never our code), so it is an independent peer that follows the
documentation: ``x-api-key`` and ``anthropic-version`` are checked, error bodies are
``{"type": "error", "error": {"type", "message"}}``, streams send ``event:`` names with
``message_start``, content blocks (``thinking`` with a ``signature_delta``, ``text``,
``tool_use`` with ``input_json_delta`` in pieces), a ``ping``, ``message_delta`` and
``message_stop``. It also checks what the API rejects (see :mod:`anthropic_rules`: a
``system`` role, roles that do not alternate, empty content, tool results out of place, a
missing ``max_tokens``) and fails on demand: error statuses with ``retry-after``, cut
streams, malformed events, ``error`` events mid-stream.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from tests.fakes import anthropic_rules as rules
from tests.fakes.loopback import NO_CACHE, LoopbackHandler, LoopbackServer, Recorded, pieces

__all__ = ["Behaviour", "FakeAnthropicServer", "Recorded"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class Behaviour:
    """How the server answers one ``POST /v1/messages``.

    ``tool_calls`` are ``{"id", "name", "input"}``; ``usage`` replaces the reported usage
    object; ``cut_after`` / ``malformed_after`` / ``error_event_after`` count content
    deltas sent before the fault.
    """

    text: str = "Hello from the fake Anthropic server."
    thinking: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] | None = None
    stop_reason: str | None = None
    model: str | None = None
    status: int = 200
    error_type: str | None = None
    error_message: str = "something went wrong"
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None
    malformed_after: int | None = None
    error_event_after: int | None = None
    error_event_type: str = "overloaded_error"
    message_stop: bool = True
    json_for_stream: bool = False
    raw_events: list[tuple[str, str]] | None = None

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "error",
        *,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Behaviour:
        return cls(
            status=status, error_message=message, error_type=error_type, headers=headers or {}
        )


class FakeAnthropicServer(LoopbackServer[Behaviour, Recorded]):
    """Use as a context manager; ``base_url`` is the API root (no ``/v1``)."""

    def __init__(self, *, api_key: str | None = None, models: list[str] | None = None) -> None:
        super().__init__(Behaviour())
        self.api_key = api_key
        self.models = models if models is not None else ["claude-sonnet-4-5"]
        self.models_page_size = 1000

    def _handler_class(self) -> type[LoopbackHandler]:
        return _Handler

    @property
    def message_requests(self) -> list[Recorded]:
        return [r for r in self.requests if urlsplit(r.path).path == "/v1/messages"]


class _Handler(LoopbackHandler):
    fake: FakeAnthropicServer
    answer_headers: ClassVar[Mapping[str, str]] = {"request-id": "req_fake"}

    def _authorised(self) -> bool:
        if self.fake.api_key is not None and self.headers.get("x-api-key") != self.fake.api_key:
            self._error(401, "authentication_error", "invalid x-api-key")
            return False
        if not self.headers.get("anthropic-version"):
            self._error(400, "invalid_request_error", "anthropic-version: header is required")
            return False
        return True

    def do_GET(self) -> None:
        self.fake.record(Recorded("GET", self.path, dict(self.headers), None))
        url = urlsplit(self.path)
        if url.path != "/v1/models":
            self._error(404, "not_found_error", f"no route {url.path}")
            return
        if not self._authorised():
            return
        query = parse_qs(url.query)
        limit = min(int(query.get("limit", ["20"])[0]), self.fake.models_page_size)
        models = self.fake.models
        start = models.index(query["after_id"][0]) + 1 if "after_id" in query else 0
        page = models[start : start + limit]
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
            for m in page
        ]
        self._json(
            200,
            {
                "data": data,
                "has_more": start + limit < len(models),
                "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None,
            },
        )

    def do_POST(self) -> None:
        body = self._read_json()
        self.fake.record(Recorded("POST", self.path, dict(self.headers), body))
        if urlsplit(self.path).path != "/v1/messages":
            self._error(404, "not_found_error", f"no route {self.path}")
            return
        if not self._authorised():
            return
        problem = rules.problem(body)
        if problem is not None:
            self._error(400, "invalid_request_error", problem)
            return
        b = self.fake.next_behaviour()
        if b.status != 200:
            error_type = b.error_type or _ERROR_TYPES.get(b.status, "api_error")
            self._error(b.status, error_type, b.error_message, b.headers)
        elif body.get("stream") and not b.json_for_stream:
            self._stream(b, body)
        else:
            self._json(200, self._message(b, body))

    # -- answers -----------------------------------------------------------------------

    def _error(
        self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        payload = {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": "req_fake",
        }
        self._json(status, payload, headers)

    @staticmethod
    def _usage(b: Behaviour) -> dict[str, int]:
        if b.usage is not None:
            return dict(b.usage)
        return {"input_tokens": 10, "output_tokens": len(pieces(b.text)) + 1}

    @staticmethod
    def _stop_reason(b: Behaviour) -> str:
        return b.stop_reason or ("tool_use" if b.tool_calls else "end_turn")

    def _message(self, b: Behaviour, body: dict[str, Any]) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if b.thinking:
            content.append({"type": "thinking", "thinking": b.thinking, "signature": "sig=="})
        if b.text:
            content.append({"type": "text", "text": b.text})
        for call in b.tool_calls:
            content.append({"type": "tool_use", **call})
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": b.model or body["model"],
            "content": content,
            "stop_reason": self._stop_reason(b),
            "stop_sequence": None,
            "usage": self._usage(b),
        }

    def _events(self, b: Behaviour, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The documented event sequence for this answer: (event name, data)."""
        usage = self._usage(b)
        start_usage = {**usage, "output_tokens": 1}
        message = {**self._message(b, body), "content": [], "stop_reason": None}
        events: list[tuple[str, dict[str, Any]]] = [
            (
                "message_start",
                {"type": "message_start", "message": {**message, "usage": start_usage}},
            )
        ]
        blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        if b.thinking:
            deltas = [{"type": "thinking_delta", "thinking": p} for p in pieces(b.thinking)]
            deltas.append({"type": "signature_delta", "signature": "sig=="})
            blocks.append(({"type": "thinking", "thinking": "", "signature": ""}, deltas))
        if b.text:
            deltas = [{"type": "text_delta", "text": p} for p in pieces(b.text)]
            blocks.append(({"type": "text", "text": ""}, deltas))
        for call in b.tool_calls:
            args = json.dumps(call["input"])
            cuts = [0, len(args) // 3, 2 * len(args) // 3, len(args)]
            deltas = [
                {"type": "input_json_delta", "partial_json": args[cuts[i] : cuts[i + 1]]}
                for i in range(3)
            ]
            head = {"type": "tool_use", "id": call["id"], "name": call["name"], "input": {}}
            blocks.append((head, deltas))
        for index, (head, deltas) in enumerate(blocks):
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": head},
                )
            )
            if index == 0:
                events.append(("ping", {"type": "ping"}))
            for delta in deltas:
                events.append(
                    (
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                    )
                )
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        stop: dict[str, Any] = {"stop_reason": self._stop_reason(b), "stop_sequence": None}
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": stop,
                    "usage": {"output_tokens": usage["output_tokens"]},
                },
            )
        )
        if b.message_stop:
            events.append(("message_stop", {"type": "message_stop"}))
        return events

    def _stream(self, b: Behaviour, body: dict[str, Any]) -> None:
        self._open_chunked("text/event-stream", NO_CACHE)
        with self._client_may_leave():
            if b.raw_events is not None:
                for name, data in b.raw_events:
                    self._write(f"event: {name}\ndata: {data}\n\n")
            else:
                self._play(b, body)
            self._end_chunks()

    def _play(self, b: Behaviour, body: dict[str, Any]) -> None:
        deltas = 0
        for name, data in self._events(b, body):
            frame = f"event: {name}\ndata: {json.dumps(data)}\n\n"
            if name == "content_block_delta":
                if b.cut_after is not None and deltas == b.cut_after:
                    self._write(frame[: len(frame) // 2])
                    self._hang_up()
                    raise ConnectionResetError
                if b.malformed_after is not None and deltas == b.malformed_after:
                    self._write('event: content_block_delta\ndata: {"type": "content_blo\n\n')
                if b.error_event_after is not None and deltas == b.error_event_after:
                    error = {"type": b.error_event_type, "message": b.error_message}
                    self._write(
                        f"event: error\ndata: {json.dumps({'type': 'error', 'error': error})}\n\n"
                    )
                    return
                deltas += 1
            self._write(frame)
