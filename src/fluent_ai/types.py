"""Messages, requests, results and the chunk kinds every stream is made of.

These are small frozen dataclasses with ``__slots__`` rather than pydantic models: a
streamed answer creates one object per token, and that path must stay cheap. Validation
of user input happens at the builder, once.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

from fluent_ai.errors import FluentAIError

__all__ = [
    "ChatRequest",
    "ChatResult",
    "Chunk",
    "ContentPart",
    "Done",
    "ErrorChunk",
    "ImagePart",
    "Message",
    "Reasoning",
    "Role",
    "TextDelta",
    "TextPart",
    "ThinkingDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolError",
    "ToolResult",
    "Usage",
    "UsageChunk",
]


class Role(enum.StrEnum):
    """Who said a message."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class TextPart:
    """A piece of text inside a multi-part message."""

    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image, by URL (``https:`` or ``data:``) for models that accept vision input."""

    url: str
    detail: str | None = None


ContentPart: TypeAlias = TextPart | ImagePart


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call the model asked for; ``arguments`` is the raw JSON text.

    ``signature`` is opaque provider data that must go back with the call in the
    history (Gemini's ``thoughtSignature``); it travels with the call, so a saved and
    reloaded conversation keeps it.
    """

    id: str
    name: str
    arguments: str
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class Reasoning:
    """One block of a model's reasoning, as its provider must see it again.

    Anthropic (and Claude on Bedrock) sign each thinking block and refuse a tool-use
    follow-up whose history lacks the signed blocks, so they are kept with the answer and
    sent back to the provider that made them (``provider``). ``redacted`` holds the
    encrypted form of a block the provider would not show.
    """

    text: str = ""
    signature: str | None = None
    redacted: str | None = None
    provider: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a conversation."""

    role: Role
    content: str | tuple[ContentPart, ...] = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    #: The assistant's signed reasoning blocks (see :class:`Reasoning`).
    reasoning: tuple[Reasoning, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.role, Role):
            try:
                object.__setattr__(self, "role", Role(self.role))
            except ValueError:
                valid = ", ".join(r.value for r in Role)
                raise ValueError(f"role must be one of {valid}, got {self.role!r}") from None
        if isinstance(self.content, list):
            object.__setattr__(self, "content", tuple(self.content))

    @classmethod
    def system(cls, text: str) -> Message:
        return cls(Role.SYSTEM, text)

    @classmethod
    def user(cls, content: str | tuple[ContentPart, ...]) -> Message:
        return cls(Role.USER, content)

    @classmethod
    def assistant(
        cls,
        text: str,
        tool_calls: tuple[ToolCall, ...] = (),
        reasoning: tuple[Reasoning, ...] = (),
    ) -> Message:
        return cls(Role.ASSISTANT, text, tool_calls=tool_calls, reasoning=reasoning)

    @property
    def text(self) -> str:
        """The message's text, with the text parts of a multi-part message joined."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts for one model call (or a sum of several)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """Everything a provider needs for one call, already validated.

    ``model`` is the provider's own model name (the part after ``provider:``).
    ``extra`` is merged into the wire body as-is, for provider-specific options.
    """

    model: str
    messages: tuple[Message, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    tools: tuple[Mapping[str, Any], ...] = ()
    #: ``None``/``"auto"``: the model decides; ``"required"``: it must call a tool;
    #: ``"none"``: it must not; any other value: the name of the one tool it must call.
    tool_choice: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


# -- chunks ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text."""

    text: str
    kind: ClassVar[str] = "text"


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    """A piece of the model's visible reasoning, kept apart from the answer.

    ``signature`` closes the current reasoning block with the provider's signature;
    ``redacted`` is a whole block the provider encrypted. Both arrive with empty ``text``
    and matter only for sending the history back (:class:`Reasoning`).
    """

    text: str
    signature: str | None = None
    redacted: str | None = None
    kind: ClassVar[str] = "thinking"


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a tool call; ``id`` and ``name`` arrive on the first piece of each index."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    #: Opaque data to send back with the call (see :class:`ToolCall`).
    signature: str | None = None
    kind: ClassVar[str] = "tool_call"


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool the model called has run; ``content`` is what goes back to the model."""

    call_id: str
    name: str
    content: str
    kind: ClassVar[str] = "tool_result"


@dataclass(frozen=True, slots=True)
class ToolError:
    """A tool call failed (bad arguments, an exception, a timeout, an unknown tool).

    ``message`` goes back to the model as the call's result, so it can correct itself;
    the turn goes on.
    """

    call_id: str
    name: str
    message: str
    kind: ClassVar[str] = "tool_error"


@dataclass(frozen=True, slots=True)
class UsageChunk:
    """Token usage of the call, usually just before :class:`Done`."""

    usage: Usage
    kind: ClassVar[str] = "usage"


@dataclass(frozen=True, slots=True)
class Done:
    """The stream finished normally.

    ``model`` is the ``provider:model`` that answered (with fallbacks, not necessarily
    the first one asked); ``cost_usd`` is the call's price from the catalogue, ``None``
    when the model has no known price.
    """

    finish_reason: str
    model: str
    cost_usd: float | None = None
    kind: ClassVar[str] = "done"


@dataclass(frozen=True, slots=True)
class ErrorChunk:
    """The stream failed; always the last chunk. ``partial_text`` is what arrived before."""

    error: FluentAIError
    partial_text: str = ""
    kind: ClassVar[str] = "error"


Chunk: TypeAlias = (
    TextDelta
    | ThinkingDelta
    | ToolCallDelta
    | ToolResult
    | ToolError
    | UsageChunk
    | Done
    | ErrorChunk
)


@dataclass(frozen=True, slots=True)
class ChatResult:
    """A finished answer, as collected from its stream."""

    text: str
    model: str
    finish_reason: str
    usage: Usage = field(default_factory=Usage)
    tool_calls: tuple[ToolCall, ...] = ()
    thinking: str = ""
    cost_usd: float | None = None
    #: Reasoning blocks with their signatures, for the history (see :class:`Reasoning`).
    reasoning: tuple[Reasoning, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "model": self.model,
            "finish_reason": self.finish_reason,
            "usage": self.usage.to_dict(),
            "cost_usd": self.cost_usd,
        }
        if self.tool_calls:
            data["tool_calls"] = [
                {"id": c.id, "name": c.name, "arguments": c.arguments}
                | ({"signature": c.signature} if c.signature else {})
                for c in self.tool_calls
            ]
        if self.thinking:
            data["thinking"] = self.thinking
        return data
