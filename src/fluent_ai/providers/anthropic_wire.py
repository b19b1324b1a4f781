"""The Anthropic Messages wire format: request bodies, whole answers, error bodies.

The Messages API differs from Chat Completions in ways that matter for correctness: the
system prompt is a top-level field, roles must alternate user/assistant, tool results are
``tool_result`` blocks inside a *user* turn, ``max_tokens`` is required, and the reported
``input_tokens`` leave out prompt-cache reads and writes. This module owns those rules so
the client and the stream reader share one reading of the format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fluent_ai.errors import (
    ConfigurationError,
    ContextLengthError,
    FluentAIError,
    InvalidRequestError,
    MalformedResponseError,
    ProviderError,
    excerpt,
)
from fluent_ai.models.catalogue import default_max_tokens
from fluent_ai.transport.http import ErrorMapper
from fluent_ai.transport.retry import parse_retry_after
from fluent_ai.transport.status import error_for_status
from fluent_ai.types import (
    ChatRequest,
    ChatResult,
    ImagePart,
    Message,
    Role,
    TextPart,
    ToolCall,
    Usage,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "build_body",
    "error_from_payload",
    "finish_reason",
    "map_http_error",
    "parse_message",
    "parse_usage",
]

# Anthropic's stop reasons in the OpenAI-style names every other adapter reports.
_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# The HTTP status each documented error type stands for, so an error met inside a stream
# gets the same typed error (and retry verdict) as the same error sent as a status.
_STATUS_OF_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def finish_reason(stop_reason: Any) -> str:
    """``stop_reason`` as an OpenAI-style finish reason (unknown ones pass through)."""
    if not stop_reason:
        return "stop"
    return _FINISH_REASONS.get(str(stop_reason), str(stop_reason))


# -- request ---------------------------------------------------------------------------


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
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    # ``request.seed`` is dropped: the Messages API has no seed and rejects unknown fields.
    if request.tools:
        body["tools"] = [_tool(t) for t in request.tools]
    body.update(request.extra)
    return body


def _conversation(messages: tuple[Message, ...]) -> tuple[str, list[dict[str, Any]]]:
    """(system text, alternating turns): consecutive same-role messages become one turn."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role is Role.SYSTEM:
            if message.text:
                system.append(message.text)
            continue
        role = "assistant" if message.role is Role.ASSISTANT else "user"
        blocks = _blocks(message)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        content = turn["content"]
        if not content:
            turn["content"] = ""
        elif len(content) == 1 and content[0]["type"] == "text":
            turn["content"] = content[0]["text"]
    return "\n\n".join(system), turns


def _blocks(message: Message) -> list[dict[str, Any]]:
    """The content blocks of one message (empty text is left out: the API rejects it)."""
    if message.role is Role.TOOL:
        if not message.tool_call_id:
            raise _refused("a tool result needs the tool_call_id of its call")
        return [
            {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.text}
        ]
    blocks: list[dict[str, Any]] = []
    parts = (TextPart(message.content),) if isinstance(message.content, str) else message.content
    for part in parts:
        if isinstance(part, TextPart):
            if part.text:
                blocks.append({"type": "text", "text": part.text})
        else:
            blocks.append(_image(part))
    for call in message.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": _input(call)})
    return blocks


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


# -- answer ----------------------------------------------------------------------------


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_usage(raw: Mapping[str, Any]) -> Usage:
    """Usage with the cache reads and writes Anthropic leaves out of ``input_tokens`` added."""
    cached = _int(raw.get("cache_read_input_tokens"))
    written = _int(raw.get("cache_creation_input_tokens"))
    return Usage(
        input_tokens=_int(raw.get("input_tokens")) + cached + written,
        output_tokens=_int(raw.get("output_tokens")),
        cached_input_tokens=cached,
    )


def parse_message(data: Any, *, provider: str, model: str) -> ChatResult:
    """A non-streamed ``message`` object as a :class:`ChatResult`."""
    if isinstance(data, Mapping) and data.get("type") == "error":
        raise error_from_payload(data.get("error"), provider=provider)
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    try:
        if not isinstance(data, Mapping) or not isinstance(data["content"], list):
            raise TypeError("not a message object with a content list")
        for block in data["content"]:
            kind = block["type"]
            if kind == "text":
                texts.append(_text(block["text"]))
            elif kind == "thinking":
                thoughts.append(_text(block["thinking"]))
            elif kind == "tool_use":
                if not isinstance(block["input"], Mapping):
                    raise TypeError("tool_use input is not an object")
                arguments = json.dumps(block["input"], ensure_ascii=False)
                calls.append(ToolCall(_text(block["id"]), _text(block["name"]), arguments))
        usage = data.get("usage") or {}
        if not isinstance(usage, Mapping):
            raise TypeError("usage is not an object")
    except (KeyError, TypeError) as exc:
        raise MalformedResponseError(
            f"{provider}: answer does not follow the Messages format: {exc}",
            provider=provider,
            body=excerpt(json.dumps(data, default=str)),
        ) from exc
    return ChatResult(
        text="".join(texts),
        model=f"{provider}:{data.get('model') or model}",
        finish_reason=finish_reason(data.get("stop_reason")),
        usage=parse_usage(usage),
        tool_calls=tuple(calls),
        thinking="".join(thoughts),
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


# -- errors ----------------------------------------------------------------------------


def error_from_payload(payload: Any, *, provider: str) -> FluentAIError:
    """The typed error for an ``error`` object (an ``event: error`` or a 200 error body)."""
    error_type, message = _type_and_message(payload)
    status = _STATUS_OF_TYPE.get(error_type or "")
    if status is None:
        text = f"{provider}: {message or error_type or 'unknown error'}"
        return ProviderError(text, provider=provider, body=message, code=error_type)
    return _refined(
        error_for_status(status, message, provider=provider, body=message, code=error_type)
    )


def map_http_error(provider: str) -> ErrorMapper:
    """An error mapper for :class:`HttpTransport` reading Anthropic's error bodies."""

    def mapper(status: int, headers: httpx.Headers, body: str) -> FluentAIError:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, Mapping) and "error" in data:
            error_type, message = _type_and_message(data["error"])
        else:
            error_type, message = None, excerpt(body, 200)
        retry_after = parse_retry_after(headers.get("retry-after"))
        error = error_for_status(
            status, message, provider=provider, body=body, code=error_type, retry_after=retry_after
        )
        return _refined(error)

    return mapper


def _type_and_message(payload: Any) -> tuple[str | None, str]:
    if not isinstance(payload, Mapping):
        return None, excerpt(str(payload), 500)
    raw_type = payload.get("type")
    error_type = str(raw_type) if raw_type else None
    return error_type, excerpt(str(payload.get("message") or ""), 500)


def _refined(error: ProviderError) -> ProviderError:
    """A 400 saying the prompt and ``max_tokens`` exceed the context is a context error."""
    if type(error) is InvalidRequestError and "context limit" in error.message.lower():
        return ContextLengthError(
            error.message,
            provider=error.provider,
            status=error.status,
            body=error.body,
            code=error.code,
            retry_after=error.retry_after,
        )
    return error
