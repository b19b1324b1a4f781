"""History entries given by users: Messages, ``(role, text)`` pairs or OpenAI-style dicts.

Seeding a conversation (``.conversation_history(...)``) accepts the shapes people have
at hand; each becomes a :class:`Message` here, or an :class:`InvalidParameterError`
naming the entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fluent_ai.errors import InvalidParameterError
from fluent_ai.types import ContentPart, ImagePart, Message, Role, TextPart, ToolCall

__all__ = ["HistoryItem", "history_of", "to_message"]

HistoryItem = Message | tuple[str, str] | Mapping[str, Any]


def _content(value: Any) -> str | tuple[ContentPart, ...]:
    """Message content from a dict: text, or OpenAI-style ``text`` / ``image_url`` parts."""
    if value is None or isinstance(value, str):
        return value or ""
    if not isinstance(value, list | tuple):
        raise ValueError(f"content must be text or a list of parts, got {type(value).__name__}")
    parts: list[ContentPart] = []
    for part in value:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if isinstance(part, TextPart | ImagePart):
            parts.append(part)
        elif kind == "text":
            parts.append(TextPart(str(part["text"])))
        elif kind == "image_url":
            image = part["image_url"]
            image = image if isinstance(image, Mapping) else {"url": image}
            parts.append(ImagePart(str(image["url"]), image.get("detail")))
        else:
            raise ValueError(f"unsupported content part {part!r}")
    return tuple(parts)


def _optional_text(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} must be text, got {type(value).__name__}")
    return value


def _tool_calls(value: Any) -> tuple[ToolCall, ...]:
    """OpenAI-style ``tool_calls`` of an assistant message given as a dict."""
    if not value:
        return ()
    calls: list[ToolCall] = []
    for call in value:
        if isinstance(call, ToolCall):
            calls.append(call)
            continue
        function = call["function"]
        arguments = function.get("arguments") or "{}"
        if not isinstance(arguments, str):
            raise ValueError("tool call arguments must be a JSON string")
        signature = call.get("signature")
        if signature is not None and not isinstance(signature, str):
            raise ValueError("tool call signature must be text")
        calls.append(ToolCall(str(call["id"]), str(function["name"]), arguments, signature))
    return tuple(calls)


def to_message(item: HistoryItem, parameter: str = "conversation_history") -> Message:
    """A history entry given as a Message, a ``(role, text)`` pair or an OpenAI-style dict."""
    try:
        if isinstance(item, Message):
            return item
        if isinstance(item, tuple) and len(item) == 2:
            return Message(Role(item[0]), str(item[1]))
        if isinstance(item, Mapping):
            return Message(
                Role(item["role"]),
                _content(item.get("content")),
                tool_calls=_tool_calls(item.get("tool_calls")),
                tool_call_id=_optional_text(item, "tool_call_id"),
                name=_optional_text(item, "name"),
            )
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidParameterError(parameter, f"bad message {item!r}: {exc}") from None
    raise InvalidParameterError(
        parameter, f"expected Message, (role, text) or {{'role', 'content'}}, got {item!r}"
    )


def history_of(messages: Iterable[HistoryItem]) -> list[Message]:
    return [to_message(m) for m in messages]
