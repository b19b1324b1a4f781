"""Reading a streamed Messages answer: the SSE event sequence as a state machine.

A stream is ``message_start``, then content blocks (``content_block_start``, deltas,
``content_block_stop``), then ``message_delta`` (stop reason, cumulative usage) and
``message_stop``; ``ping`` may come anywhere and ``error`` ends the stream. Deltas name
their block by its index in the final content list, so the state remembers what each
block is: tool-call chunks are numbered by tool_use block (0, 1, …), not by content
index, as every other adapter numbers them. Event types the docs may add later are
skipped; anything that breaks the documented shapes is a :class:`MalformedResponseError`.
"""

from __future__ import annotations

from typing import Any

from fluent_ai.errors import MalformedResponseError, StreamInterruptedError
from fluent_ai.providers.anthropic_wire import error_from_payload, finish_reason, parse_usage
from fluent_ai.providers.streaming import decode_json, malformed
from fluent_ai.types import Chunk, Done, TextDelta, ThinkingDelta, ToolCallDelta, UsageChunk

__all__ = ["StreamState"]

# What a content block is, by index: text and thinking stream as such, a tool_use block
# carries its tool-call number, anything else (redacted thinking, server tools) is skipped.
_TEXT = -1
_THINKING = -2
_OTHER = -3


class StreamState:
    """Turns decoded events into chunks and remembers the model, stop reason and usage."""

    __slots__ = ("_blocks", "_tools", "_usage", "model", "provider", "stop_reason", "stopped")

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.stop_reason: str | None = None
        self.stopped = False
        self._usage: dict[str, int] = {}
        self._blocks: dict[int, int] = {}
        self._tools = 0

    def decode(self, data: str) -> Any:
        """Parse one event's JSON text (a malformed event is a typed error)."""
        return decode_json(self.provider, data, "stream event")

    def _malformed(self, what: str, value: Any) -> MalformedResponseError:
        return malformed(self.provider, what, value, "stream event")

    def feed(self, payload: Any) -> list[Chunk]:
        """The chunks carried by one event's payload."""
        if type(payload) is not dict:
            raise self._malformed("not an object", payload)
        kind = payload.get("type")
        if kind == "content_block_delta":
            return self._delta(payload)
        if kind == "content_block_start":
            return self._start(payload)
        if kind == "message_start":
            message = payload.get("message")
            if type(message) is not dict:
                raise self._malformed("message_start without a message", payload)
            if message.get("model") and type(message["model"]) is str:
                self.model = message["model"]
            self._count(message.get("usage"))
        elif kind == "message_delta":
            delta = payload.get("delta")
            if type(delta) is not dict:
                raise self._malformed("message_delta without a delta", payload)
            if delta.get("stop_reason"):
                self.stop_reason = str(delta["stop_reason"])
            self._count(payload.get("usage"))
        elif kind == "message_stop":
            self.stopped = True
        elif kind == "error":
            raise error_from_payload(payload.get("error"), provider=self.provider)
        return []  # ping, content_block_stop, and event types added after this was written

    def _index(self, payload: dict[str, Any]) -> int:
        index = payload.get("index")
        if type(index) is not int:
            raise self._malformed("content block event without an index", payload)
        return index

    def _start(self, payload: dict[str, Any]) -> list[Chunk]:
        index = self._index(payload)
        block = payload.get("content_block")
        if type(block) is not dict:
            raise self._malformed("content_block_start without a block", payload)
        kind = block.get("type")
        if kind == "text":
            self._blocks[index] = _TEXT
            text = block.get("text")
            return [TextDelta(text)] if text and type(text) is str else []
        if kind == "thinking":
            self._blocks[index] = _THINKING
            thinking = block.get("thinking")
            return [ThinkingDelta(thinking)] if thinking and type(thinking) is str else []
        if kind == "redacted_thinking":
            self._blocks[index] = _OTHER
            data = block.get("data")
            if type(data) is not str:
                raise self._malformed("redacted_thinking block without data", block)
            return [ThinkingDelta("", redacted=data)]
        if kind == "tool_use":
            call_id, name = block.get("id"), block.get("name")
            if type(call_id) is not str or type(name) is not str:
                raise self._malformed("tool_use block without id and name", block)
            self._blocks[index] = tool = self._tools
            self._tools += 1
            return [ToolCallDelta(tool, call_id, name)]
        self._blocks[index] = _OTHER
        return []

    def _delta(self, payload: dict[str, Any]) -> list[Chunk]:
        index = self._index(payload)
        block = self._blocks.get(index)
        delta = payload.get("delta")
        if block is None or type(delta) is not dict:
            raise self._malformed("delta for a block that never started", payload)
        kind = delta.get("type")
        if kind == "text_delta":
            return self._piece(TextDelta, delta, "text")
        if kind == "thinking_delta":
            return self._piece(ThinkingDelta, delta, "thinking")
        if kind == "input_json_delta" and block >= 0:
            partial = delta.get("partial_json")
            if type(partial) is not str:
                raise self._malformed("input_json_delta without partial_json", delta)
            return [ToolCallDelta(block, arguments=partial)] if partial else []
        if kind == "signature_delta" and block == _THINKING:
            signature = delta.get("signature")
            if type(signature) is not str:
                raise self._malformed("signature_delta without a signature", delta)
            # Closes the thinking block: the history must send it back signed.
            return [ThinkingDelta("", signature=signature)]
        return []  # citations, deltas of skipped blocks

    def _piece(
        self, cls: type[TextDelta] | type[ThinkingDelta], delta: dict[str, Any], field: str
    ) -> list[Chunk]:
        text = delta.get(field)
        if type(text) is not str:
            raise self._malformed(f"{delta.get('type')} without {field}", delta)
        return [cls(text)] if text else []

    def _count(self, usage: Any) -> None:
        """Keep the latest usage figures: ``message_delta`` counts are cumulative."""
        if usage is None:
            return
        if type(usage) is not dict:
            raise self._malformed("usage is not an object", usage)
        for key, value in usage.items():
            if type(value) is int:
                self._usage[key] = value

    def finish(self) -> list[Chunk]:
        """The closing chunks; a stream without ``message_stop`` was cut."""
        if not self.stopped:
            raise StreamInterruptedError(
                f"{self.provider}: stream ended before message_stop", provider=self.provider
            )
        chunks: list[Chunk] = []
        if self._usage:
            chunks.append(UsageChunk(parse_usage(self._usage)))
        chunks.append(Done(finish_reason(self.stop_reason), f"{self.provider}:{self.model}"))
        return chunks
