"""The OpenAI Chat Completions wire format: request bodies, answers, errors.

Kept apart from the client so the server side (our own OpenAI-compatible API) and
every OpenAI-compatible host share one reading of the format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fluent_ai.errors import (
    ContextLengthError,
    FluentAIError,
    MalformedResponseError,
    ProviderError,
    RateLimitError,
)
from fluent_ai.transport.http import ErrorMapper
from fluent_ai.transport.retry import parse_retry_after
from fluent_ai.transport.status import error_for_status, looks_like_context_overflow
from fluent_ai.types import (
    ChatRequest,
    ChatResult,
    ImagePart,
    Message,
    TextPart,
    ToolCall,
    Usage,
)

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "build_body",
    "error_from_payload",
    "map_http_error",
    "message_to_wire",
    "parse_completion",
    "parse_usage",
]


def message_to_wire(message: Message) -> dict[str, Any]:
    """One :class:`Message` as a Chat Completions message object."""
    wire: dict[str, Any] = {"role": message.role.value}
    if isinstance(message.content, str):
        wire["content"] = message.content
    else:
        parts: list[dict[str, Any]] = []
        for part in message.content:
            if isinstance(part, TextPart):
                parts.append({"type": "text", "text": part.text})
            elif isinstance(part, ImagePart):
                image: dict[str, Any] = {"url": part.url}
                if part.detail:
                    image["detail"] = part.detail
                parts.append({"type": "image_url", "image_url": image})
        wire["content"] = parts
    if message.tool_calls:
        wire["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
        if not message.content:
            wire["content"] = None
    if message.tool_call_id is not None:
        wire["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        wire["name"] = message.name
    return wire


def build_body(
    request: ChatRequest, *, stream: bool, max_tokens_field: str = "max_tokens"
) -> dict[str, Any]:
    """The JSON body of a Chat Completions request."""
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [message_to_wire(m) for m in request.messages],
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body[max_tokens_field] = request.max_tokens
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop"] = list(request.stop)
    if request.seed is not None:
        body["seed"] = request.seed
    if request.tools:
        body["tools"] = [dict(t) for t in request.tools]
    if request.tool_choice and request.tool_choice != "auto":
        choice = request.tool_choice
        body["tool_choice"] = (
            choice
            if choice in ("required", "none")
            else {"type": "function", "function": {"name": choice}}
        )
    body.update(request.extra)
    return body


def parse_usage(raw: Any) -> Usage:
    """Token counts from a ``usage`` object (missing fields count as zero)."""
    if not isinstance(raw, Mapping):
        return Usage()
    details = raw.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, Mapping) else 0
    return Usage(
        input_tokens=_int(raw.get("prompt_tokens")),
        output_tokens=_int(raw.get("completion_tokens")),
        cached_input_tokens=_int(cached),
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_completion(data: Any, *, provider: str, model: str) -> ChatResult:
    """A non-streamed ``chat.completion`` object as a :class:`ChatResult`."""
    if isinstance(data, Mapping) and "error" in data:
        raise error_from_payload(data["error"], provider=provider)
    try:
        choice = data["choices"][0]
        message = choice["message"]
        if not isinstance(message, Mapping):
            raise TypeError("message is not an object")
        text, thinking = _message_text(message)
        calls = tuple(
            ToolCall(
                id=str(call.get("id") or f"call_{i}"),
                name=str(call["function"]["name"]),
                arguments=str(call["function"].get("arguments") or "{}"),
            )
            for i, call in enumerate(message.get("tool_calls") or ())
        )
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise MalformedResponseError(
            f"{provider}: answer does not follow the chat.completion format: {exc}",
            provider=provider,
            body=json.dumps(data)[:300],
        ) from exc
    reported = data.get("model") or model
    return ChatResult(
        text=text,
        model=f"{provider}:{reported}",
        finish_reason=str(choice.get("finish_reason") or "stop"),
        usage=parse_usage(data.get("usage")),
        tool_calls=calls,
        thinking=thinking,
    )


def _message_text(message: Mapping[str, Any]) -> tuple[str, str]:
    """(answer, reasoning) from a message whose content is text, parts or null."""
    content = message.get("content")
    thinking = message.get("reasoning_content") or message.get("reasoning") or ""
    if not isinstance(thinking, str):
        raise TypeError("reasoning is not text")
    if content is None or isinstance(content, str):
        return content or "", thinking
    if not isinstance(content, list):
        raise TypeError("content is neither text nor parts")
    texts: list[str] = []
    thoughts: list[str] = [thinking] if thinking else []
    for part in content:
        if part.get("type") == "text":
            texts.append(str(part["text"]))
        elif part.get("type") == "thinking":
            inner = part["thinking"]
            pieces = inner if isinstance(inner, list) else [{"text": inner}]
            thoughts.extend(str(piece["text"]) for piece in pieces)
        else:
            raise TypeError(f"unknown content part {part.get('type')!r}")
    return "".join(texts), "".join(thoughts)


#: Error types/codes that mean the host failed, not the request.
_SERVER_SIDE = frozenset(
    {
        "server_error",
        "internal_error",
        "internal_server_error",
        "api_error",
        "service_unavailable",
        "overloaded",
        "overloaded_error",
    }
)


def error_from_payload(payload: Any, *, provider: str, status: int | None = None) -> FluentAIError:
    """An ``{"error": ...}`` object met inside a stream or a 200 answer."""
    if isinstance(payload, Mapping):
        message = str(payload.get("message") or payload)
        code = str(payload.get("code") or payload.get("type") or "")
    else:
        message, code = str(payload), ""
    text = f"{provider}: {message}"
    if status is None and code in _SERVER_SIDE:
        # A server-side failure reported inside a 200 stream: as retryable as a 5xx.
        status = 503 if "overloaded" in code or "unavailable" in code else 500
    if "rate_limit" in code or status == 429:
        return RateLimitError(text, provider=provider, body=message, code=code or None)
    if "context_length" in code or looks_like_context_overflow(message):
        return ContextLengthError(
            text, provider=provider, status=status, body=message, code=code or None
        )
    return ProviderError(text, provider=provider, status=status, body=message, code=code or None)


def map_http_error(provider: str) -> ErrorMapper:
    """An error mapper for :class:`HttpTransport` that reads OpenAI-style error bodies."""

    def mapper(status: int, headers: httpx2.Headers, body: str) -> FluentAIError:
        message, code = _error_message(body)
        retry_after: float | None = None
        millis = headers.get("retry-after-ms")
        if millis is not None:
            try:
                retry_after = max(0.0, float(millis) / 1000.0)
            except ValueError:
                retry_after = None
        if retry_after is None:
            retry_after = parse_retry_after(headers.get("retry-after"))
        return error_for_status(
            status, message, provider=provider, body=body, code=code, retry_after=retry_after
        )

    return mapper


def _error_message(body: str) -> tuple[str, str | None]:
    """The human message and the error code inside an error body, whatever the host's shape."""
    try:
        data = json.loads(body)
    except ValueError:
        return " ".join(body.split())[:200], None
    if isinstance(data, Mapping):
        error = data.get("error", data)
        if isinstance(error, Mapping):
            raw_code = error.get("code") or error.get("type")
            code = str(raw_code) if raw_code else None
            for key in ("message", "detail", "msg"):
                if error.get(key):
                    return str(error[key])[:500], code
            return " ".join(body.split())[:200], code
        if isinstance(error, str):
            return error[:500], None
        if isinstance(data.get("detail"), str):
            return str(data["detail"])[:500], None
    return " ".join(body.split())[:200], None
