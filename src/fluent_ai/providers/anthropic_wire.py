"""The Anthropic Messages wire format: whole answers, usage, stop reasons, error bodies.

Request bodies are built in :mod:`fluent_ai.providers.anthropic_request`. What lives here
is shared by the client and the stream reader, so both read answers the same way: stop
reasons in the common vocabulary, ``input_tokens`` with the prompt-cache reads and writes
Anthropic reports apart added back, and error types as the typed errors of their status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fluent_ai.errors import (
    ContextLengthError,
    FluentAIError,
    InvalidRequestError,
    MalformedResponseError,
    ProviderError,
    excerpt,
)
from fluent_ai.transport.http import ErrorMapper
from fluent_ai.transport.retry import parse_retry_after
from fluent_ai.transport.status import error_for_status
from fluent_ai.types import ChatResult, Reasoning, ToolCall, Usage

if TYPE_CHECKING:
    import httpx2

__all__ = [
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
    blocks: list[Reasoning] = []
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
                signature = block.get("signature")
                if signature:
                    blocks.append(Reasoning(thoughts[-1], _text(signature), None, provider))
            elif kind == "redacted_thinking":
                blocks.append(Reasoning("", None, _text(block["data"]), provider))
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
        reasoning=tuple(blocks),
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

    def mapper(status: int, headers: httpx2.Headers, body: str) -> FluentAIError:
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
