"""Reading a streamed Cohere v2 chat answer, one typed event at a time.

Each server-sent event names its kind twice (the SSE ``event:`` line and the ``type`` of
its JSON data); the data wins, the line is the fallback. The answer is complete only at
``message-end``, which carries the finish reason and usage: a body that ends before it
was cut. Anything that does not fit the documented shapes is a
:class:`MalformedResponseError`, never a stray ``TypeError`` from deep inside a stream.
Kinds this reader does not know (citations, debug events, future additions) carry
nothing the chunk kinds can express and are skipped.
"""

from __future__ import annotations

from typing import Any

from fluent_ai.errors import MalformedResponseError, StreamInterruptedError
from fluent_ai.providers.cohere_wire import PROVIDER, finish_reason, parse_usage
from fluent_ai.providers.streaming import decode_json, malformed
from fluent_ai.types import Chunk, Done, TextDelta, ThinkingDelta, ToolCallDelta, Usage, UsageChunk

__all__ = ["CohereStreamState"]


class CohereStreamState:
    """Turns event payloads into chunks; remembers finish reason, usage and tool calls.

    Tool calls are renumbered in the order they start, so indexes count from 0 whatever
    the upstream numbers them (its ``index`` also counts content blocks in some streams).
    """

    __slots__ = ("_current", "_indexes", "_started", "done", "finish_reason", "model", "usage")

    def __init__(self, model: str) -> None:
        self.model = model
        self.done = False
        self.finish_reason = "stop"
        self.usage: Usage | None = None
        self._indexes: dict[int, int] = {}
        self._current: int | None = None
        self._started = 0

    def decode(self, data: str) -> Any:
        """Parse one event's JSON text (a malformed event is a typed error)."""
        return decode_json(PROVIDER, data, "stream event")

    def _malformed(self, what: str, value: Any) -> MalformedResponseError:
        return malformed(PROVIDER, what, value, "stream event")

    def feed(self, payload: Any, event: str = "message") -> list[Chunk]:
        """The chunks carried by one event's payload (``event`` is its SSE name)."""
        if type(payload) is not dict:
            raise self._malformed("not an object", payload)
        kind = payload.get("type") or event
        if kind == "content-delta":
            return self._content(self._message(payload, kind))
        if kind == "tool-plan-delta":
            plan = self._message(payload, kind).get("tool_plan")
            if type(plan) is not str:
                raise self._malformed("tool-plan-delta without tool_plan text", payload)
            return [ThinkingDelta(plan)] if plan else []
        if kind == "tool-call-start":
            return [self._call_start(payload)]
        if kind == "tool-call-delta":
            return self._call_delta(payload)
        if kind == "content-start":
            return self._content(self._message(payload, kind))
        if kind == "message-end":
            self._end(payload)
        return []

    def _message(self, payload: dict[str, Any], kind: str) -> dict[str, Any]:
        """``delta.message`` of an event that must carry one."""
        delta = payload.get("delta")
        message = delta.get("message") if type(delta) is dict else None
        if type(message) is not dict:
            raise self._malformed(f"{kind} without delta.message", payload)
        return message

    def _content(self, message: dict[str, Any]) -> list[Chunk]:
        content = message.get("content")
        if content is None:
            return []
        if type(content) is not dict:
            raise self._malformed("content is not an object", content)
        chunks: list[Chunk] = []
        text, thinking = content.get("text"), content.get("thinking")
        if thinking is not None:
            if type(thinking) is not str:
                raise self._malformed("content thinking is not a string", content)
            if thinking:
                chunks.append(ThinkingDelta(thinking))
        if text is not None:
            if type(text) is not str:
                raise self._malformed("content text is not a string", content)
            if text:
                chunks.append(TextDelta(text))
        return chunks

    def _call(self, payload: dict[str, Any], kind: str) -> dict[str, Any]:
        """The ``tool_calls`` object of a tool-call event (a one-item list is accepted)."""
        calls = self._message(payload, kind).get("tool_calls")
        if type(calls) is list and len(calls) == 1:
            calls = calls[0]
        if type(calls) is not dict:
            raise self._malformed(f"{kind} without a tool call", payload)
        return calls

    def _call_start(self, payload: dict[str, Any]) -> ToolCallDelta:
        call = self._call(payload, "tool-call-start")
        function = call.get("function")
        if type(function) is not dict:
            raise self._malformed("tool call without a function", call)
        call_id, name = call.get("id"), function.get("name")
        arguments = function.get("arguments")
        if (
            type(name) is not str
            or not name
            or not (call_id is None or type(call_id) is str)
            or not (arguments is None or type(arguments) is str)
        ):
            raise self._malformed("tool call has the wrong shape", call)
        index = self._started
        self._started += 1
        wire_index = payload.get("index")
        if type(wire_index) is int:
            self._indexes[wire_index] = index
        self._current = index
        return ToolCallDelta(index=index, id=call_id or None, name=name, arguments=arguments or "")

    def _call_delta(self, payload: dict[str, Any]) -> list[Chunk]:
        call = self._call(payload, "tool-call-delta")
        function = call.get("function")
        arguments = function.get("arguments") if type(function) is dict else None
        if type(arguments) is not str:
            raise self._malformed("tool-call-delta without argument text", call)
        wire_index = payload.get("index")
        index = self._current
        if type(wire_index) is int:
            index = self._indexes.get(wire_index, index)
        if index is None:
            raise self._malformed("tool-call-delta before any tool-call-start", payload)
        return [ToolCallDelta(index=index, arguments=arguments)] if arguments else []

    def _end(self, payload: dict[str, Any]) -> None:
        delta = payload.get("delta")
        if delta is None:
            delta = {}
        if type(delta) is not dict:
            raise self._malformed("message-end delta is not an object", delta)
        self.done = True
        usage = parse_usage(delta.get("usage"))
        if usage is not None:
            self.usage = usage
        self.finish_reason = finish_reason(delta.get("finish_reason"), delta.get("error"))

    def finish(self) -> list[Chunk]:
        """The closing chunks; a stream that never reached ``message-end`` was cut."""
        if not self.done:
            raise StreamInterruptedError(
                f"{PROVIDER}: stream ended before message-end", provider=PROVIDER
            )
        chunks: list[Chunk] = []
        if self.usage is not None:
            chunks.append(UsageChunk(self.usage))
        chunks.append(Done(self.finish_reason, f"{PROVIDER}:{self.model}"))
        return chunks
