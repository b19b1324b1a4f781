"""A real HTTP server on loopback that speaks Cohere's v2 API (chat, embed, model listing).

Built on the standard library (not on our code) so it is an independent peer. Shapes
follow Cohere's documentation: ``POST /v2/chat`` answers ``{"id", "finish_reason",
"message": {"role", "content": [...], "tool_plan", "tool_calls"}, "usage": {"billed_units",
"tokens"}}``, or with ``"stream": true`` server-sent events named by an ``event:`` line and
by the ``type`` of their JSON data: ``message-start``, ``content-start``,
``content-delta``, ``content-end``, ``tool-plan-delta``, ``tool-call-start``,
``tool-call-delta``, ``tool-call-end``, ``citation-start``, ``citation-end`` and finally
``message-end`` with the finish reason and usage. Errors are ``{"id", "message"}``; a
``p`` outside the documented 0.01..0.99 is refused with a 400.

Faults on demand: error statuses with ``Retry-After``, streams cut mid-event, malformed
events, a missing ``message-end``, ``ERROR`` finishes, JSON answers to stream requests,
raw event payloads. Each request takes the next queued :class:`Behaviour` (or the
default one); every request is recorded for assertions.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import loopback
from tests.fakes.loopback import NO_CACHE, LoopbackHandler, LoopbackServer, pieces

__all__ = ["Behaviour", "FakeCohereServer", "Recorded"]

_EMBED_LIMIT = 96


@dataclass
class Behaviour:
    """How the server answers one request.

    ``tool_calls`` are ``{"id", "name", "arguments"}`` with ``arguments`` as JSON text,
    streamed in ``argument_pieces`` ``tool-call-delta`` events each. ``cut_after`` and
    ``malformed_after`` count *content events* (text, thinking and tool-plan deltas,
    tool-call starts and deltas).
    """

    text: str = "Hello from the fake Cohere server."
    thinking: str = ""
    tool_plan: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    argument_pieces: int = 3
    citations: bool = False
    finish_reason: str | None = None
    error_text: str | None = None
    usage: dict[str, Any] | None = None
    status: int = 200
    error_message: str = "something went wrong"
    error_body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None
    malformed_after: int | None = None
    end_event: bool = True
    event_lines: bool = True
    json_for_stream: bool = False
    raw_events: list[Any] | None = None

    @classmethod
    def error(
        cls, status: int, message: str = "error", *, headers: dict[str, str] | None = None
    ) -> Behaviour:
        return cls(status=status, error_message=message, headers=headers or {})


class Recorded(loopback.Recorded):
    """One request as the server saw it, with its route and query split out."""

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)


class FakeCohereServer(LoopbackServer[Behaviour, Recorded]):
    """Start with :meth:`start` (or as a context manager); ``base_url`` has no path.

    ``models`` is what ``GET /v1/models`` lists, ``models_page_size`` entries a page;
    ``honour_endpoint_filter=False`` makes it ignore ``?endpoint=``.
    """

    def __init__(self, *, api_key: str | None = None) -> None:
        super().__init__(Behaviour())
        self.api_key = api_key
        self.models: list[dict[str, Any]] = [
            {"name": "command-a-03-2025", "endpoints": ["generate", "chat", "summarize"]},
            {"name": "embed-v4.0", "endpoints": ["embed"]},
        ]
        self.models_page_size = 2
        self.honour_endpoint_filter = True

    def _handler_class(self) -> type[LoopbackHandler]:
        return _Handler

    def on(self, route: str) -> list[Recorded]:
        return [r for r in self.requests if r.route == route]

    @property
    def chat_requests(self) -> list[Recorded]:
        return self.on("/v2/chat")


def _split(text: str, count: int) -> list[str]:
    size = max(1, -(-len(text) // max(1, count)))
    return [text[i : i + size] for i in range(0, len(text), size)]


class _Handler(LoopbackHandler):
    fake: FakeCohereServer

    # -- routing -----------------------------------------------------------------------

    def do_GET(self) -> None:
        self.fake.record(Recorded("GET", self.path, dict(self.headers), None))
        behaviour = self._admit()
        if behaviour is None:
            return
        if urlsplit(self.path).path == "/v1/models":
            self._models()
            return
        self._json(404, {"id": str(uuid.uuid4()), "message": f"no route {self.path}"})

    def do_POST(self) -> None:
        body = self._read_json()
        self.fake.record(Recorded("POST", self.path, dict(self.headers), body))
        behaviour = self._admit()
        if behaviour is None:
            return
        if not isinstance(body, dict):
            self._json(400, {"id": str(uuid.uuid4()), "message": "invalid request: bad JSON"})
            return
        route = urlsplit(self.path).path
        if route == "/v2/embed":
            self._embed(body)
        elif route != "/v2/chat":
            self._json(404, {"id": str(uuid.uuid4()), "message": f"no route {self.path}"})
        elif body.get("p") is not None and not 0.01 <= body["p"] <= 0.99:
            message = "invalid request: p must be between 0.01 and 0.99"
            self._json(400, {"id": str(uuid.uuid4()), "message": message})
        elif body.get("stream") and not behaviour.json_for_stream:
            self._stream(behaviour, body)
        else:
            self._json(200, self._answer(behaviour, body))

    def _admit(self) -> Behaviour | None:
        """Check the key and take the next behaviour; ``None`` when an error was sent."""
        expected = self.fake.api_key
        if expected is not None and self.headers.get("authorization") != f"Bearer {expected}":
            self._json(401, {"id": str(uuid.uuid4()), "message": "invalid api token"})
            return None
        behaviour = self.fake.next_behaviour()
        if behaviour.status == 200:
            return behaviour
        if behaviour.error_body is not None:
            data = behaviour.error_body.encode()
            self._send_bytes(behaviour.status, data, "text/plain", behaviour.headers)
        else:
            payload = {"id": str(uuid.uuid4()), "message": behaviour.error_message}
            self._json(behaviour.status, payload, behaviour.headers)
        return None

    # -- plain answers -----------------------------------------------------------------

    def _models(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        endpoint = query.get("endpoint", [""])[0]
        models = self.fake.models
        if endpoint and self.fake.honour_endpoint_filter:
            models = [m for m in models if endpoint in m.get("endpoints", [])]
        start = int((query.get("page_token") or ["0"])[0])
        size = min(self.fake.models_page_size, int((query.get("page_size") or ["20"])[0]))
        page: dict[str, Any] = {"models": models[start : start + size]}
        if start + size < len(models):
            page["next_page_token"] = str(start + size)
        self._json(200, page)

    def _embed(self, body: dict[str, Any]) -> None:
        texts = body.get("texts")
        if not isinstance(texts, list) or not body.get("model") or not body.get("input_type"):
            self._json(400, {"message": "invalid request: texts, model and input_type required"})
            return
        if len(texts) > _EMBED_LIMIT:
            message = (
                f"invalid request: total number of texts must be at most 96 - received {len(texts)}"
            )
            self._json(400, {"message": message})
            return
        if "float" not in (body.get("embedding_types") or []):
            self._json(
                400, {"message": "embedding_types is required for embed models v3 and higher"}
            )
            return
        size = int(body.get("output_dimension") or 8)
        vectors = [[round(len(t) * 0.01 + k * 0.001, 6) for k in range(size)] for t in texts]
        self._json(
            200,
            {
                "id": str(uuid.uuid4()),
                "embeddings": {"float": vectors},
                "texts": texts,
                "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 1}},
                "response_type": "embeddings_by_type",
            },
        )

    def _usage(self, b: Behaviour, body: dict[str, Any]) -> dict[str, Any]:
        if b.usage is not None:
            return b.usage
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        output = len(pieces(b.text)) + len(pieces(b.tool_plan))
        return {
            "billed_units": {"input_tokens": prompt, "output_tokens": output},
            "tokens": {"input_tokens": prompt + 200, "output_tokens": output + 2},
        }

    def _finish(self, b: Behaviour) -> str:
        if b.error_text is not None:
            return "ERROR"
        return b.finish_reason or ("TOOL_CALL" if b.tool_calls else "COMPLETE")

    @staticmethod
    def _call(call: dict[str, Any], arguments: str) -> dict[str, Any]:
        function = {"name": call["name"], "arguments": arguments}
        return {"id": call["id"], "type": "function", "function": function}

    def _answer(self, b: Behaviour, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant"}
        content = [{"type": "thinking", "thinking": b.thinking}] if b.thinking else []
        if b.text:
            content.append({"type": "text", "text": b.text})
        if content:
            message["content"] = content
        if b.tool_plan:
            message["tool_plan"] = b.tool_plan
        if b.tool_calls:
            message["tool_calls"] = [self._call(c, c["arguments"]) for c in b.tool_calls]
        answer: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "finish_reason": self._finish(b),
            "message": message,
            "usage": self._usage(b, body),
        }
        return answer

    # -- streams -----------------------------------------------------------------------

    def _events(self, b: Behaviour, body: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
        """The stream's events, each with whether it is a content event."""
        start = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": []}
        events: list[tuple[dict[str, Any], bool]] = [
            ({"type": "message-start", "id": str(uuid.uuid4()), "delta": {"message": start}}, False)
        ]
        index = 0
        for kind, text in (("thinking", b.thinking), ("text", b.text)):
            if not text:
                continue
            opening = {"message": {"content": {"type": kind, kind: ""}}}
            events.append(({"type": "content-start", "index": index, "delta": opening}, False))
            for piece in pieces(text):
                delta: dict[str, Any] = {"message": {"content": {kind: piece}}}
                events.append(({"type": "content-delta", "index": index, "delta": delta}, True))
            if kind == "text" and b.citations:
                cite = {"start": 0, "end": 1, "text": text[:1], "sources": []}
                citation = {"message": {"citations": cite}}
                events.append(({"type": "citation-start", "index": 0, "delta": citation}, False))
                events.append(({"type": "citation-end", "index": 0}, False))
            events.append(({"type": "content-end", "index": index}, False))
            index += 1
        for piece in pieces(b.tool_plan):
            delta = {"message": {"tool_plan": piece}}
            events.append(({"type": "tool-plan-delta", "delta": delta}, True))
        for position, call in enumerate(b.tool_calls):
            head = {"message": {"tool_calls": self._call(call, "")}}
            events.append(({"type": "tool-call-start", "index": position, "delta": head}, True))
            for part in _split(call["arguments"], b.argument_pieces):
                delta = {"message": {"tool_calls": {"function": {"arguments": part}}}}
                events.append(
                    ({"type": "tool-call-delta", "index": position, "delta": delta}, True)
                )
            events.append(({"type": "tool-call-end", "index": position}, False))
        if b.end_event:
            end: dict[str, Any] = {"finish_reason": self._finish(b), "usage": self._usage(b, body)}
            if b.error_text is not None:
                end["error"] = b.error_text
            events.append(({"type": "message-end", "id": None, "delta": end}, False))
        return events

    def _frame(self, b: Behaviour, payload: Any) -> bytes:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        kind = payload.get("type") if isinstance(payload, dict) else None
        head = f"event: {kind}\n" if b.event_lines and kind else ""
        return f"{head}data: {data}\n\n".encode()

    def _stream(self, b: Behaviour, body: dict[str, Any]) -> None:
        self._open_chunked("text/event-stream", NO_CACHE, b.headers)
        if b.raw_events is not None:
            events = [(e, False) for e in b.raw_events]
        else:
            events = self._events(b, body)
        sent = 0
        with self._client_may_leave():
            for payload, is_content in events:
                frame = self._frame(b, payload)
                if is_content and sent == b.cut_after:
                    self._write(frame[: len(frame) // 2])
                    self._hang_up()
                    return
                if is_content and sent == b.malformed_after:
                    self._write(b'event: content-delta\ndata: {"type": "content-delta", \n\n')
                self._write(frame)
                sent += is_content
            self._end_chunks()
