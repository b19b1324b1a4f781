"""The Bedrock Converse wire format: request bodies and answers (errors: bedrock_errors).

Field names follow the Converse / ConverseStream API reference (``messages``,
``system``, ``inferenceConfig``, ``toolConfig``, ``additionalModelRequestFields``).
Converse insists on alternating user/assistant turns, so consecutive messages of one
role are merged and tool results travel in a user message, as the API requires. Signed
reasoning (``reasoningContent``) is read from answers and sent back ahead of the turn's
text and tool uses: Claude with extended thinking refuses a tool-use follow-up without it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from fluent_ai.errors import InvalidParameterError, MalformedResponseError
from fluent_ai.types import (
    ChatRequest,
    ChatResult,
    ImagePart,
    Message,
    Reasoning,
    Role,
    ToolCall,
    Usage,
)

__all__ = [
    "EMPTY_RESULT",
    "FINISH_REASONS",
    "build_body",
    "finish_reason",
    "parse_converse",
    "parse_usage",
]

#: Converse ``stopReason`` → the finish reasons every other provider reports.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
# Request fields Converse knows; any other ``extra`` key is a model-specific parameter.
_TOP_LEVEL = frozenset(
    [
        "messages",
        "system",
        "inferenceConfig",
        "toolConfig",
        "guardrailConfig",
        "additionalModelRequestFields",
        "additionalModelResponseFieldPaths",
        "promptVariables",
        "requestMetadata",
        "performanceConfig",
        "serviceTier",
        "outputConfig",
    ]
)
_IMAGE_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "gif": "gif", "webp": "webp"}
#: What an empty tool result says: Converse rejects a blank text block, even in a result.
EMPTY_RESULT = "(no output)"
#: The provider name reasoning blocks must carry to be sent back (only Bedrock can verify them).
_PROVIDER = "bedrock"


# -- request ------------------------------------------------------------------------


def build_body(request: ChatRequest) -> dict[str, Any]:
    """The JSON body of a Converse or ConverseStream request (the model id is in the path).

    Converse has no ``seed``: it is not sent (``extra`` can pass a model's own field).
    """
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role is Role.SYSTEM:
            if message.text.strip():
                system.append({"text": message.text})
            continue
        role = "assistant" if message.role is Role.ASSISTANT else "user"
        content = _content(message)
        if not content:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(content)
        else:
            turns.append({"role": role, "content": content})
    body: dict[str, Any] = {"messages": turns}
    if system:
        body["system"] = system
    inference: dict[str, Any] = {}
    if request.max_tokens is not None:
        inference["maxTokens"] = request.max_tokens
    if request.temperature is not None:
        # Converse takes 0..1 (a 400 above); OpenAI's scale, which callers use, goes to 2.
        inference["temperature"] = min(request.temperature, 1.0)
    if request.top_p is not None and not (request.temperature is not None and _claude(request)):
        # Claude answers 400 "temperature and top_p cannot both be specified".
        inference["topP"] = request.top_p
    if request.stop:
        inference["stopSequences"] = list(request.stop)
    if inference:
        body["inferenceConfig"] = inference
    if request.tools:
        body["toolConfig"] = {"tools": [_tool_spec(tool) for tool in request.tools]}
        choice = request.tool_choice
        if choice == "required":
            body["toolConfig"]["toolChoice"] = {"any": {}}
        elif choice and choice not in ("auto", "none"):
            body["toolConfig"]["toolChoice"] = {"tool": {"name": choice}}
    elif "toolConfig" not in request.extra:
        # Converse refuses toolUse/toolResult blocks without a toolConfig, even when this
        # turn offers no tools (a follow-up after a tool conversation): declare those used.
        used = _tools_used(request.messages)
        if used:
            body["toolConfig"] = {"tools": [_declared(name) for name in used]}
    _merge_extra(body, request.extra)
    return body


def _claude(request: ChatRequest) -> bool:
    """Whether the model id (or inference profile) names one of Anthropic's models."""
    model = request.model.lower()
    return "anthropic." in model or "claude" in model


def _tools_used(messages: tuple[Message, ...]) -> list[str]:
    """The names of the tools the conversation already called, in order of first use."""
    names: dict[str, None] = {}
    for message in messages:
        for call in message.tool_calls:
            names.setdefault(call.name, None)
        if message.role is Role.TOOL and message.name:
            names.setdefault(message.name, None)
    return [name for name in names if name]


def _declared(name: str) -> dict[str, Any]:
    spec = {"name": name, "description": f"{name} (called earlier in this conversation)"}
    return {"toolSpec": {**spec, "inputSchema": {"json": _empty_schema()}}}


def _empty_schema() -> dict[str, Any]:
    return {"type": "object", "properties": {}}


def _content(message: Message) -> list[dict[str, Any]]:
    """The content blocks of one message (reasoning, text, images, tool uses, a tool result)."""
    if message.role is Role.TOOL:
        if not message.tool_call_id:
            raise InvalidParameterError("tool_call_id", "Bedrock matches tool results by call id")
        text = message.text if message.text.strip() else EMPTY_RESULT
        result = {"toolUseId": message.tool_call_id, "content": [{"text": text}]}
        return [{"toolResult": result}]
    reasoning = message.reasoning if message.role is Role.ASSISTANT else ()
    blocks = [_reasoning(block) for block in reasoning if _sendable(block)]
    parts = (message.content,) if isinstance(message.content, str) else message.content
    for part in parts:
        # Blank text ("\n\n" before a tool call is common) is refused by Converse.
        if isinstance(part, str):
            if part.strip():
                blocks.append({"text": part})
        elif isinstance(part, ImagePart):
            blocks.append({"image": _image(part)})
        elif part.text.strip():
            blocks.append({"text": part.text})
    for call in message.tool_calls:
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            raise InvalidParameterError(
                "tool_calls", f"arguments of {call.name!r} are not JSON: {call.arguments[:80]!r}"
            ) from None
        blocks.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": arguments}})
    return blocks


def _sendable(block: Reasoning) -> bool:
    """Signed or redacted blocks Bedrock made; others (a fallback's, unsigned) cannot verify."""
    return block.provider == _PROVIDER and (bool(block.signature) or block.redacted is not None)


def _reasoning(block: Reasoning) -> dict[str, Any]:
    """A ``ReasoningContentBlock``: the text with its signature, unmodified, or the redaction."""
    if block.redacted is not None:
        return {"reasoningContent": {"redactedContent": block.redacted}}
    signed = {"text": block.text, "signature": block.signature}
    return {"reasoningContent": {"reasoningText": signed}}


def _image(part: ImagePart) -> dict[str, Any]:
    """An image block from a ``data:`` URL; Converse takes image bytes, not links."""
    if not part.url.startswith("data:"):
        raise InvalidParameterError(
            "image",
            "Bedrock Converse takes image bytes, not links: pass a data: URL "
            "(data:image/png;base64,...) instead of "
            f"{part.url.split('?', 1)[0][:80]!r}",
        )
    header, _, data = part.url[5:].partition(",")
    mime, _, encoding = header.partition(";")
    fmt = _IMAGE_FORMATS.get(mime.removeprefix("image/").lower())
    if not mime.startswith("image/") or fmt is None or encoding != "base64":
        raise InvalidParameterError(
            "image", f"Bedrock takes base64 png, jpeg, gif or webp images, not {header!r}"
        )
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameterError("image", "the data: URL is not valid base64") from None
    return {"format": fmt, "source": {"bytes": data}}


def _tool_spec(tool: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAI-style function declaration as a Converse ``toolSpec``."""
    function = tool.get("function", tool)
    if not isinstance(function, Mapping) or not function.get("name"):
        raise InvalidParameterError("tools", f"not a function declaration: {tool!r:.80}")
    schema = function.get("parameters") or _empty_schema()
    spec: dict[str, Any] = {"name": function["name"], "inputSchema": {"json": schema}}
    if function.get("description"):
        spec["description"] = function["description"]
    return {"toolSpec": spec}


def _merge_extra(body: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Converse fields go to the top level (objects merged), the rest to the model."""
    for key, value in extra.items():
        target = body if key in _TOP_LEVEL else body.setdefault("additionalModelRequestFields", {})
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            target[key].update(value)
        else:
            target[key] = value


# -- answer ---------------------------------------------------------------------------


def finish_reason(stop_reason: Any) -> str:
    """A Converse ``stopReason`` in the common vocabulary (unknown ones pass through)."""
    return FINISH_REASONS.get(str(stop_reason), str(stop_reason or "stop"))


def parse_usage(raw: Any) -> Usage:
    """Token counts from a Converse ``usage`` object (missing fields count as zero).

    ``inputTokens`` leaves out the tokens read from or written to the prompt cache
    (the whole prompt is their sum); they are added back, as for Anthropic.
    """
    if not isinstance(raw, Mapping):
        return Usage()
    cached = _int(raw.get("cacheReadInputTokens"))
    written = _int(raw.get("cacheWriteInputTokens"))
    return Usage(
        input_tokens=_int(raw.get("inputTokens")) + cached + written,
        output_tokens=_int(raw.get("outputTokens")),
        cached_input_tokens=cached,
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_converse(data: Any, *, provider: str, model: str) -> ChatResult:
    """A Converse answer (``output.message.content`` blocks) as a :class:`ChatResult`."""
    texts: list[str] = []
    thoughts: list[str] = []
    blocks: list[Reasoning] = []
    calls: list[ToolCall] = []
    try:
        for block in data["output"]["message"]["content"]:
            if "text" in block:
                texts.append(str(block["text"]))
            elif "reasoningContent" in block:
                _read_reasoning(block["reasoningContent"], thoughts, blocks, provider)
            elif "toolUse" in block:
                use = block["toolUse"]
                arguments = json.dumps(use.get("input") or {}, ensure_ascii=False)
                calls.append(ToolCall(str(use["toolUseId"]), str(use["name"]), arguments))
        stop = data.get("stopReason")
    except (KeyError, TypeError, AttributeError) as exc:
        raise MalformedResponseError(
            f"{provider}: answer does not follow the Converse format: {exc!r}",
            provider=provider,
            body=json.dumps(data)[:300],
        ) from exc
    return ChatResult(
        text="".join(texts),
        model=f"{provider}:{model}",
        finish_reason=finish_reason(stop),
        usage=parse_usage(data.get("usage")),
        tool_calls=tuple(calls),
        thinking="".join(thoughts),
        reasoning=tuple(blocks),
    )


def _read_reasoning(raw: Any, thoughts: list[str], blocks: list[Reasoning], provider: str) -> None:
    """One ``ReasoningContentBlock``: its text joins ``thinking``; signed or redacted, it is
    also kept as a block to send back (an unsigned one cannot be verified, so is not)."""
    if "redactedContent" in raw:
        blocks.append(Reasoning("", None, _string(raw["redactedContent"]), provider))
    elif "reasoningText" in raw:
        thoughts.append(_string(raw["reasoningText"]["text"]))
        signature = raw["reasoningText"].get("signature")
        if signature:
            blocks.append(Reasoning(thoughts[-1], _string(signature), None, provider))


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value
