"""OpenAI Chat Completions JSON to our types and back, for the server side.

The inverse of :mod:`fluent_ai.providers.openai_wire` (which sends our requests *to*
OpenAI-compatible hosts): here requests arrive in that format and our chunks leave as
``chat.completion`` objects or ``chat.completion.chunk`` server-sent events. A streamed
answer starts with a chunk carrying ``role``, sends text, reasoning and tool-call deltas
(``index``, then ``id``/``type``/``function.name`` on a call's first piece), then a chunk
with the ``finish_reason``, a usage chunk when ``stream_options.include_usage`` asked
for one, and ``data: [DONE]``.

A failure after the first event cannot change the status any more: it is sent as one
``data: {"error": {...}}`` event (the OpenAI error object) and the stream ends without
``[DONE]``; the official SDKs raise ``APIError`` on that event.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fluent_ai.errors import FluentAIError
from fluent_ai.server.error_text import public_message
from fluent_ai.server.errors import describe_error, error_body
from fluent_ai.server.openai_schema import (
    AssistantMessage,
    ChatCompletionRequest,
    ChatMessage,
    ImagePart,
    TextPart,
    ToolMessage,
    UserMessage,
)
from fluent_ai.types import (
    ChatRequest,
    ChatResult,
    Chunk,
    Done,
    Message,
    Role,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageChunk,
)
from fluent_ai.types import ContentPart as OurPart
from fluent_ai.types import ImagePart as OurImage
from fluent_ai.types import TextPart as OurText

__all__ = [
    "DONE_EVENT",
    "ChunkEncoder",
    "completion_json",
    "error_event",
    "finish_reason",
    "sse_event",
    "to_chat_request",
    "to_messages",
    "usage_json",
]

DONE_EVENT = b"data: [DONE]\n\n"

_FINISH = frozenset({"stop", "length", "tool_calls", "content_filter"})


# -- requests -----------------------------------------------------------------------------


def _parts(parts: Sequence[TextPart | ImagePart]) -> tuple[OurPart, ...]:
    return tuple(
        OurText(part.text)
        if isinstance(part, TextPart)
        else OurImage(part.image_url.url, part.image_url.detail)
        for part in parts
    )


def _text(content: str | list[TextPart] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(part.text for part in content)


def to_message(message: ChatMessage) -> Message:
    """One request message as a :class:`Message` (``developer`` counts as ``system``)."""
    if isinstance(message, UserMessage):
        content = message.content
        parts = content if isinstance(content, str) else _parts(content)
        return Message(Role.USER, parts, name=message.name)
    if isinstance(message, ToolMessage):
        return Message(Role.TOOL, _text(message.content), tool_call_id=message.tool_call_id)
    if isinstance(message, AssistantMessage):
        calls = tuple(
            ToolCall(call.id, call.function.name, call.function.arguments)
            for call in message.tool_calls or ()
        )
        return Message(Role.ASSISTANT, _text(message.content), calls, name=message.name)
    return Message(Role.SYSTEM, _text(message.content), name=message.name)


def to_messages(messages: Sequence[ChatMessage]) -> tuple[Message, ...]:
    return tuple(to_message(m) for m in messages)


def _tool_choice(body: ChatCompletionRequest) -> str | None:
    choice = body.tool_choice
    if choice is None or isinstance(choice, str):
        return choice
    return choice.function.name


def to_chat_request(
    body: ChatCompletionRequest, model: str, *, extra: Mapping[str, Any] | None = None
) -> ChatRequest:
    """The :class:`ChatRequest` for ``body``, sent to the provider's model ``model``."""
    tools = tuple(
        {"type": "function", "function": tool.function.model_dump(exclude_none=True)}
        for tool in body.tools or ()
    )
    return ChatRequest(
        model=model,
        messages=to_messages(body.messages),
        temperature=body.temperature,
        max_tokens=body.answer_limit,
        top_p=body.top_p,
        stop=body.stops,
        seed=body.seed,
        tools=tools,
        tool_choice=_tool_choice(body),
        extra=dict(extra or {}),
    )


# -- answers ------------------------------------------------------------------------------


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def finish_reason(raw: str) -> str:
    """Our finish reason in OpenAI's four words (anything else ended normally: ``stop``)."""
    return raw if raw in _FINISH else "stop"


def usage_json(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
    }


def completion_json(result: ChatResult, model: str, *, tools_shown: bool = True) -> dict[str, Any]:
    """A whole answer as a ``chat.completion`` object."""
    calls = result.tool_calls if tools_shown else ()
    message: dict[str, Any] = {
        "role": "assistant",
        "content": result.text if result.text or not calls else None,
        "refusal": None,
    }
    if calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in calls
        ]
    if result.thinking:
        message["reasoning_content"] = result.thinking
    return {
        "id": new_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason(result.finish_reason),
                "logprobs": None,
            }
        ],
        "usage": usage_json(result.usage),
        "system_fingerprint": None,
    }


def sse_event(payload: Mapping[str, Any]) -> bytes:
    """One ``data:`` event of compact JSON."""
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def error_event(
    error: FluentAIError, *, secrets: Iterable[str] = (), request_id: str = ""
) -> bytes:
    """The SSE event that ends a stream which failed after it started; its message is what
    a client may read (:func:`~fluent_ai.server.error_text.public_message`)."""
    info = describe_error(error)
    if info.status == 500:
        message = f"internal server error (request {request_id})"
    else:
        message = public_message(error, secrets)
    return sse_event(error_body(message, info.type, info.code, info.param))


class ChunkEncoder:
    """Our chunks as ``chat.completion.chunk`` events, for one streamed answer.

    ``tools_shown`` false hides tool calls and their results (an agent runs its tools
    server-side: the client sees only text). ``usage`` is the last usage seen.
    """

    def __init__(self, model: str, *, include_usage: bool, tools_shown: bool = True) -> None:
        self.model = model
        self.include_usage = include_usage
        self.tools_shown = tools_shown
        self.id = new_completion_id()
        self.created = int(time.time())
        self.usage: Usage | None = None
        self.finished = False
        self._started = False

    def _chunk(
        self, delta: Mapping[str, Any], finish: str | None = None, choices: bool = True
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": (
                [{"index": 0, "delta": dict(delta), "finish_reason": finish, "logprobs": None}]
                if choices
                else []
            ),
        }
        return chunk

    def encode(self, chunk: Chunk) -> list[bytes]:
        """The events for ``chunk`` (none for chunks the client does not see)."""
        events: list[bytes] = []
        if not self._started:
            self._started = True
            events.append(sse_event(self._chunk({"role": "assistant", "content": ""})))
        if isinstance(chunk, TextDelta):
            if chunk.text:
                events.append(sse_event(self._chunk({"content": chunk.text})))
        elif isinstance(chunk, ThinkingDelta):
            if chunk.text:
                events.append(sse_event(self._chunk({"reasoning_content": chunk.text})))
        elif isinstance(chunk, ToolCallDelta):
            if self.tools_shown:
                events.append(sse_event(self._chunk({"tool_calls": [_call_delta(chunk)]})))
        elif isinstance(chunk, UsageChunk):
            self.usage = chunk.usage
        elif isinstance(chunk, Done):
            self.finished = True
            events.append(sse_event(self._chunk({}, finish_reason(chunk.finish_reason))))
            if self.include_usage:
                usage = self._chunk({}, choices=False)
                usage["usage"] = usage_json(self.usage or Usage())
                events.append(sse_event(usage))
            events.append(DONE_EVENT)
        return events


def _call_delta(chunk: ToolCallDelta) -> dict[str, Any]:
    delta: dict[str, Any] = {"index": chunk.index}
    function: dict[str, Any] = {"arguments": chunk.arguments}
    if chunk.id:
        delta["id"] = chunk.id
        delta["type"] = "function"
    if chunk.name:
        function["name"] = chunk.name
    delta["function"] = function
    return delta
