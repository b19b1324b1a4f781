"""Messages to JSON and back, losing nothing a provider needs to see again.

Saved conversations (the chat store, exports) must replay exactly: image parts keep
their detail, tool calls keep Gemini's thought signatures, assistant turns keep
Anthropic's signed and redacted reasoning blocks. ``message_from_dict`` checks every
field and names the one that is wrong, so a corrupted or hand-edited file fails clearly
instead of deep inside a provider call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fluent_ai.errors import InvalidParameterError
from fluent_ai.types import ContentPart, ImagePart, Message, Reasoning, Role, TextPart, ToolCall

__all__ = ["message_from_dict", "message_to_dict"]


def message_to_dict(message: Message) -> dict[str, Any]:
    """A JSON-able dict of ``message``; fields at their defaults are left out."""
    data: dict[str, Any] = {"role": message.role.value}
    if isinstance(message.content, str):
        data["content"] = message.content
    else:
        data["content"] = [_part_to_dict(part) for part in message.content]
    if message.tool_calls:
        data["tool_calls"] = [_call_to_dict(call) for call in message.tool_calls]
    if message.tool_call_id is not None:
        data["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        data["name"] = message.name
    if message.reasoning:
        data["reasoning"] = [_reasoning_to_dict(block) for block in message.reasoning]
    return data


def _part_to_dict(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    image: dict[str, Any] = {"type": "image", "url": part.url}
    if part.detail is not None:
        image["detail"] = part.detail
    return image


def _call_to_dict(call: ToolCall) -> dict[str, Any]:
    data = {"id": call.id, "name": call.name, "arguments": call.arguments}
    if call.signature is not None:
        data["signature"] = call.signature
    return data


def _reasoning_to_dict(block: Reasoning) -> dict[str, Any]:
    data: dict[str, Any] = {"text": block.text, "provider": block.provider}
    if block.signature is not None:
        data["signature"] = block.signature
    if block.redacted is not None:
        data["redacted"] = block.redacted
    return data


class _Reader:
    """Typed reads from one message dict, with errors that name the field."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def fail(self, field: str, problem: str) -> InvalidParameterError:
        return InvalidParameterError("message", f"{self.where}.{field}: {problem}")

    def text(self, field: str, *, required: bool = True, default: str = "") -> str:
        value = self.data.get(field)
        if value is None and not required:
            return default
        if not isinstance(value, str):
            raise self.fail(field, f"must be text, got {type(value).__name__}")
        return value

    def optional(self, field: str) -> str | None:
        value = self.data.get(field)
        if value is not None and not isinstance(value, str):
            raise self.fail(field, f"must be text or absent, got {type(value).__name__}")
        return value

    def items(self, field: str) -> list[Mapping[str, Any]]:
        value = self.data.get(field, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.fail(field, "must be a list of objects")
        return value


def message_from_dict(data: Any, where: str = "message") -> Message:
    """The :class:`Message` ``data`` describes (as written by :func:`message_to_dict`)."""
    if not isinstance(data, Mapping):
        raise InvalidParameterError("message", f"{where}: must be an object")
    read = _Reader(data, where)
    try:
        role = Role(read.text("role"))
    except ValueError:
        raise read.fail("role", f"unknown role {data.get('role')!r}") from None
    raw = data.get("content", "")
    content: str | tuple[ContentPart, ...]
    if isinstance(raw, str):
        content = raw
    elif isinstance(raw, list):
        content = tuple(_part(part, f"{where}.content[{i}]") for i, part in enumerate(raw))
    else:
        raise read.fail("content", "must be text or a list of parts")
    calls = tuple(
        _call(_Reader(call, f"{where}.tool_calls[{i}]"))
        for i, call in enumerate(read.items("tool_calls"))
    )
    reasoning = tuple(
        _reasoning(_Reader(block, f"{where}.reasoning[{i}]"))
        for i, block in enumerate(read.items("reasoning"))
    )
    return Message(
        role,
        content,
        tool_calls=calls,
        tool_call_id=read.optional("tool_call_id"),
        name=read.optional("name"),
        reasoning=reasoning,
    )


def _part(data: Any, where: str) -> ContentPart:
    if not isinstance(data, Mapping):
        raise InvalidParameterError("message", f"{where}: must be an object")
    read = _Reader(data, where)
    kind = data.get("type")
    if kind == "text":
        return TextPart(read.text("text"))
    if kind == "image":
        return ImagePart(read.text("url"), read.optional("detail"))
    raise read.fail("type", f"must be 'text' or 'image', got {kind!r}")


def _call(read: _Reader) -> ToolCall:
    return ToolCall(
        read.text("id"), read.text("name"), read.text("arguments"), read.optional("signature")
    )


def _reasoning(read: _Reader) -> Reasoning:
    return Reasoning(
        read.text("text", required=False),
        read.optional("signature"),
        read.optional("redacted"),
        read.text("provider", required=False),
    )
