"""Reading a streamed Chat Completions answer (``chat.completion.chunk`` payloads).

Shared by the HTTP client (payloads decoded from SSE) and the embedded model (payloads
handed over as dicts), so both read the format the same way. Hosts vary: content may be
a string or a list of parts (Mistral's reasoning models send ``thinking`` parts), usage may
come in any payload. Anything that does not fit the format is a
:class:`MalformedResponseError`, never a stray ``TypeError`` from deep inside a stream.
"""

from __future__ import annotations

from typing import Any

from fluent_ai.errors import MalformedResponseError, StreamInterruptedError
from fluent_ai.providers.openai_wire import error_from_payload, parse_usage
from fluent_ai.providers.streaming import decode_json, malformed
from fluent_ai.types import (
    Chunk,
    Done,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    Usage,
    UsageChunk,
)

__all__ = ["StreamState"]


class StreamState:
    """Turns payloads into chunks and remembers the finish reason, usage and model."""

    __slots__ = ("finish_reason", "model", "provider", "usage")

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.finish_reason: str | None = None
        self.usage: Usage | None = None

    def decode(self, data: str) -> Any:
        """Parse one event's JSON text (a malformed event is a typed error)."""
        return decode_json(self.provider, data, "stream frame")

    def _malformed(self, what: str, value: Any) -> MalformedResponseError:
        return malformed(self.provider, what, value, "stream frame")

    def feed(self, payload: Any) -> list[Chunk]:
        """The chunks carried by one payload."""
        if type(payload) is not dict:
            raise self._malformed("not an object", payload)
        if "error" in payload:
            error = payload["error"]
            status = error.get("code") if isinstance(error, dict) else None
            raise error_from_payload(
                error, provider=self.provider, status=status if isinstance(status, int) else None
            )
        model = payload.get("model")
        if model and type(model) is str:
            self.model = model
        usage = payload.get("usage")
        if usage:
            self.usage = parse_usage(usage)
        choices = payload.get("choices")
        if not choices:
            return []
        if type(choices) is not list:
            raise self._malformed("choices is not a list", choices)
        chunks: list[Chunk] = []
        for choice in choices:
            if type(choice) is not dict:
                raise self._malformed("choice is not an object", choice)
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if delta:
                if type(delta) is not dict:
                    raise self._malformed("delta is not an object", delta)
                content = delta.get("content")
                size = len(delta)
                if type(content) is str and (size == 1 or (size == 2 and "role" in delta)):
                    if content:
                        chunks.append(TextDelta(content))
                else:
                    self._delta(delta, chunks)
            finish = choice.get("finish_reason")
            if finish:
                self.finish_reason = str(finish)
        return chunks

    def _delta(self, delta: dict[str, Any], chunks: list[Chunk]) -> None:
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning:
            if type(reasoning) is not str:
                raise self._malformed("reasoning is not text", reasoning)
            chunks.append(ThinkingDelta(reasoning))
        content = delta.get("content")
        if content:
            self._content(content, chunks)
        calls = delta.get("tool_calls")
        if calls:
            if type(calls) is not list:
                raise self._malformed("tool_calls is not a list", calls)
            for call in calls:
                chunks.append(self._tool_call(call))

    def _content(self, content: Any, chunks: list[Chunk]) -> None:
        if type(content) is str:
            chunks.append(TextDelta(content))
            return
        if type(content) is not list:
            raise self._malformed("content is neither text nor parts", content)
        for part in content:
            kind = part.get("type") if type(part) is dict else None
            if kind == "text" and type(part.get("text")) is str:
                if part["text"]:
                    chunks.append(TextDelta(part["text"]))
            elif kind == "thinking":
                inner = part.get("thinking")
                texts = inner if type(inner) is list else [{"type": "text", "text": inner}]
                for piece in texts:
                    text = piece.get("text") if type(piece) is dict else None
                    if type(text) is not str:
                        raise self._malformed("thinking part without text", part)
                    if text:
                        chunks.append(ThinkingDelta(text))
            else:
                raise self._malformed("unknown content part", part)

    def _tool_call(self, call: Any) -> ToolCallDelta:
        if type(call) is not dict:
            raise self._malformed("tool call is not an object", call)
        function = call.get("function") or {}
        index = call.get("index", 0)
        name = function.get("name") if type(function) is dict else None
        arguments = function.get("arguments") if type(function) is dict else None
        call_id = call.get("id")
        if (
            type(function) is not dict
            or type(index) is not int
            or not (name is None or type(name) is str)
            or not (arguments is None or type(arguments) is str)
            or not (call_id is None or type(call_id) is str)
        ):
            raise self._malformed("tool call has the wrong shape", call)
        return ToolCallDelta(index=index, id=call_id, name=name, arguments=arguments or "")

    def finish(self, *, saw_done_marker: bool) -> list[Chunk]:
        """The closing chunks; a stream with neither ``[DONE]`` nor a finish reason was cut."""
        if not saw_done_marker and self.finish_reason is None:
            raise StreamInterruptedError(
                f"{self.provider}: stream ended before the answer was complete",
                provider=self.provider,
            )
        chunks: list[Chunk] = []
        if self.usage is not None:
            chunks.append(UsageChunk(self.usage))
        chunks.append(Done(self.finish_reason or "stop", f"{self.provider}:{self.model}"))
        return chunks
