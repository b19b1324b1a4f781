"""Building the body of ``POST /v1/messages`` from a :class:`ChatRequest`.

The Messages API is stricter than Chat Completions about the conversation it accepts, and
each rule below answers a documented 400: the system prompt is a top-level field (there is
no ``system`` role); consecutive same-role messages form one turn; tool results are
``tool_result`` blocks inside a *user* turn and must come before any text of that turn;
every message must have non-empty content (so a stored empty answer is left out);
``max_tokens`` is required; ``temperature`` stops at 1 and is not sent with ``top_p``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fluent_ai.errors import ConfigurationError, excerpt
from fluent_ai.models.catalogue import default_max_tokens
from fluent_ai.types import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    Reasoning,
    Role,
    TextPart,
    ToolCall,
)

__all__ = ["build_body"]

_PROVIDER = "anthropic"


def build_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The JSON body of ``POST /v1/messages``."""
    system, messages = _conversation(request.messages)
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens or default_max_tokens("anthropic", request.model),
        "messages": messages,
    }
    if system:
        body["system"] = system
    if stream:
        body["stream"] = True
    if request.temperature is not None:
        # The API takes 0..1 and answers 400 above; OpenAI's scale (which callers use)
        # goes to 2, and 1 is Claude's most random.
        body["temperature"] = min(request.temperature, 1.0)
    if request.top_p is not None and request.temperature is None:
        # Current models answer 400 when both are given ("use only one"); the docs have
        # always said to alter one or the other, so temperature wins.
        body["top_p"] = request.top_p
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    # ``request.seed`` is dropped: the Messages API has no seed and rejects unknown fields.
    if request.tools:
        body["tools"] = [_tool(t) for t in request.tools]
    if request.tool_choice and request.tool_choice != "auto":
        choice = request.tool_choice
        body["tool_choice"] = (
            {"type": "any"}
            if choice == "required"
            else {"type": "none"}
            if choice == "none"
            else {"type": "tool", "name": choice}
        )
    body.update(request.extra)
    return body


def _conversation(messages: tuple[Message, ...]) -> tuple[str, list[dict[str, Any]]]:
    """(system text, turns): consecutive same-role messages become one turn.

    A message with nothing to send (an empty answer kept in history) is left out before
    merging, so the turns around it still alternate.
    """
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role is Role.SYSTEM:
            if message.text.strip():
                system.append(message.text)
            continue
        blocks = _blocks(message)
        if not blocks:
            continue
        role = "assistant" if message.role is Role.ASSISTANT else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        content = turn["content"]
        if turn["role"] == "user":
            # Stable: results keep their order, and so does the text after them.
            content.sort(key=lambda block: block["type"] != "tool_result")
        if len(content) == 1 and content[0]["type"] == "text":
            turn["content"] = content[0]["text"]
    return "\n\n".join(system), turns


def _blocks(message: Message) -> list[dict[str, Any]]:
    """The content blocks of one message (blank text is left out: the API rejects it)."""
    if message.role is Role.TOOL:
        return [_tool_result(message)]
    # Signed thinking goes back first, as Anthropic requires before a tool_use follow-up;
    # blocks another provider produced (a fallback answered) cannot be verified here.
    blocks = [
        _reasoning(block)
        for block in message.reasoning
        if block.provider == _PROVIDER and (block.signature or block.redacted is not None)
    ]
    blocks.extend(_parts(message.content))
    for call in message.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": _input(call)})
    return blocks


def _reasoning(block: Reasoning) -> dict[str, Any]:
    if block.redacted is not None:
        return {"type": "redacted_thinking", "data": block.redacted}
    return {"type": "thinking", "thinking": block.text, "signature": block.signature or ""}


def _parts(content: str | tuple[ContentPart, ...]) -> list[dict[str, Any]]:
    parts = (TextPart(content),) if isinstance(content, str) else content
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            if part.text.strip():
                blocks.append({"type": "text", "text": part.text})
        else:
            blocks.append(_image(part))
    return blocks


def _tool_result(message: Message) -> dict[str, Any]:
    """A tool message as a ``tool_result`` block; images in the result go along with it.

    ``content`` is optional and an empty one is refused, so a tool that printed nothing
    sends none.
    """
    if not message.tool_call_id:
        raise _refused("a tool result needs the tool_call_id of its call")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
    if not isinstance(message.content, str) and any(
        isinstance(part, ImagePart) for part in message.content
    ):
        block["content"] = _parts(message.content)
    elif message.text.strip():
        block["content"] = message.text
    return block


def _refused(reason: str) -> ConfigurationError:
    return ConfigurationError(f"anthropic: {reason}", provider="anthropic")


def _image(part: ImagePart) -> dict[str, Any]:
    url = part.url
    if url.startswith("data:"):
        header, comma, data = url[5:].partition(",")
        params = header.split(";")
        if not comma or params[-1] != "base64" or not params[0]:
            raise _refused("an image data URL must be data:<mime>;base64,<data>")
        source = {"type": "base64", "media_type": params[0], "data": data}
    elif url.startswith(("https://", "http://")):
        source = {"type": "url", "url": url}
    else:
        raise _refused(f"unsupported image URL {excerpt(url, 40)!r}")
    return {"type": "image", "source": source}


def _input(call: ToolCall) -> dict[str, Any]:
    """A tool call's JSON arguments as the object ``tool_use.input`` must be."""
    try:
        value = json.loads(call.arguments) if call.arguments.strip() else {}
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise _refused(f"arguments of tool call {call.id!r} are not a JSON object")
    return value


def _tool(declaration: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAI-format function declaration as an Anthropic tool; others pass as they are."""
    function = declaration.get("function")
    if declaration.get("type") != "function" or not isinstance(function, Mapping):
        return dict(declaration)
    tool: dict[str, Any] = {"name": function["name"]}
    if function.get("description"):
        tool["description"] = function["description"]
    tool["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    return tool
