"""What the Messages API rejects with a 400, checked by the fake Anthropic server.

Standard library only, like the server. Each rule is one the documentation states (or one
the real API answers with an ``invalid_request_error``): ``max_tokens`` is required;
``temperature`` and ``top_p`` lie in 0..1 and current models refuse both at once; roles
are ``user`` or ``assistant`` and alternate; every message has non-empty content except an
optional final assistant message, and no text (nor tool result) is blank; and a user turn
holding ``tool_result`` blocks starts with them, each answering a ``tool_use`` of the
assistant turn just before it. With extended thinking on, an assistant turn that used a
tool starts with its signed ``thinking`` (or ``redacted_thinking``) block.
"""

from __future__ import annotations

from typing import Any

__all__ = ["problem"]


def problem(body: Any) -> str | None:
    """What the real API would reject in this request body, if anything."""
    if not isinstance(body, dict):
        return "body is not a JSON object"
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    if "temperature" in body and "top_p" in body:
        return "`temperature` and `top_p` cannot both be specified for this model"
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None and not 0 <= value <= 1:
            return f"{name}: Input should be less than or equal to 1"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    system = body.get("system")
    if isinstance(system, str) and not system.strip():
        return "system: text content blocks must contain non-whitespace text"
    previous: dict[str, Any] | None = None
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        if previous is not None and role == previous.get("role"):
            return "messages: roles must alternate between 'user' and 'assistant'"
        last = i == len(messages) - 1
        if not message.get("content") and not (last and role == "assistant"):
            return (
                f"messages.{i}: all messages must have non-empty content except for the "
                "optional final assistant message"
            )
        wrong = _blank_text_problem(i, message) or _tool_results_problem(i, message, previous)
        if wrong is None and _thinking_on(body):
            wrong = _thinking_problem(i, message)
        if wrong is not None:
            return wrong
        previous = message
    return None


def _blank_text_problem(i: int, message: dict[str, Any]) -> str | None:
    content = message.get("content")
    texts = [content] if isinstance(content, str) and content else []
    for block in _blocks(message):
        if block.get("type") == "text":
            texts.append(block.get("text") or "")
        elif block.get("type") == "tool_result" and block.get("content") == "":
            return f"messages.{i}: tool_result content is empty"
    if any(not text.strip() for text in texts):
        return "messages: text content blocks must contain non-whitespace text"
    return None


def _thinking_on(body: dict[str, Any]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") == "enabled"


def _thinking_problem(i: int, message: dict[str, Any]) -> str | None:
    blocks = _blocks(message)
    if message.get("role") != "assistant" or not any(b.get("type") == "tool_use" for b in blocks):
        return None
    first = blocks[0] if blocks else {}
    signed = first.get("type") == "thinking" and bool(first.get("signature"))
    if signed or (first.get("type") == "redacted_thinking" and first.get("data")):
        return None
    return (
        f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        f"`{first.get('type')}`. When `thinking` is enabled, a final `assistant` message must "
        "start with a thinking block"
    )


def _blocks(message: dict[str, Any] | None) -> list[dict[str, Any]]:
    content = message.get("content") if message else None
    return content if isinstance(content, list) else []


def _tool_results_problem(
    i: int, message: dict[str, Any], previous: dict[str, Any] | None
) -> str | None:
    blocks = _blocks(message)
    kinds = [block.get("type") for block in blocks]
    if "tool_result" in kinds:
        first_other = next((k for k, kind in enumerate(kinds) if kind != "tool_result"), None)
        if first_other is not None and "tool_result" in kinds[first_other:]:
            return (
                f"messages.{i}: tool_result blocks must come first in the content array, "
                "any text must come after all tool results"
            )
    asked = {b.get("id") for b in _blocks(previous) if b.get("type") == "tool_use"}
    answered = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
    if answered - asked:
        return f"messages.{i}: unexpected tool_use_id found in tool_result blocks"
    if message.get("role") == "user" and asked - answered:
        return f"messages.{i}: tool_use ids were found without tool_result blocks immediately after"
    return None
