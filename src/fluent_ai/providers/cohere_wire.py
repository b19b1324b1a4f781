"""The Cohere Chat v2 wire format: request bodies, answers, usage, errors.

Kept apart from the client so the non-streamed answer and the stream reader share one
reading of finish reasons and usage, and so the format can be tested without a server.

Two Cohere choices shape the mapping. An assistant turn that calls tools carries what
the model said as ``tool_plan`` (not ``content``), so the text of such a turn is sent
back as ``tool_plan``. And ``tool_plan`` in an answer is the model thinking aloud before
it acts, not the answer: it is exposed as thinking (``ThinkingDelta`` /
``ChatResult.thinking``), next to the ``thinking`` content of reasoning models.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fluent_ai.errors import (
    AuthenticationError,
    FluentAIError,
    InvalidParameterError,
    MalformedResponseError,
    ProviderError,
    RequestTimeoutError,
    excerpt,
)
from fluent_ai.transport.retry import parse_retry_after
from fluent_ai.transport.status import error_for_status
from fluent_ai.types import (
    ChatRequest,
    ChatResult,
    ContentPart,
    ImagePart,
    Message,
    Role,
    TextPart,
    ToolCall,
    Usage,
)

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "PROVIDER",
    "build_body",
    "finish_reason",
    "map_http_error",
    "message_to_wire",
    "parse_chat",
    "parse_usage",
]

PROVIDER = "cohere"

# Cohere's finish reasons in the vocabulary every other adapter uses. ERROR and TIMEOUT
# are not reasons to stop but failures: ``finish_reason`` raises for them.
_FINISH_REASONS = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
}

# The documented range of ``p`` (Cohere's top_p); the API refuses values outside it.
_P_MIN, _P_MAX = 0.01, 0.99


# -- requests -------------------------------------------------------------------------


def message_to_wire(message: Message) -> dict[str, Any]:
    """One :class:`Message` as a v2 chat message object."""
    if message.role is Role.USER:
        return {"role": "user", "content": _user_content(message.content)}
    if message.role is Role.SYSTEM:
        return {"role": "system", "content": message.text}
    if message.role is Role.TOOL:
        if not message.tool_call_id:
            raise InvalidParameterError(
                "messages", "a tool result needs the tool_call_id of the call it answers"
            )
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.text}
    wire: dict[str, Any] = {"role": "assistant"}
    if message.tool_calls:
        wire["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments or "{}"},
            }
            for call in message.tool_calls
        ]
        if message.text:
            wire["tool_plan"] = message.text
    else:
        wire["content"] = message.text
    return wire


def _user_content(content: str | tuple[ContentPart, ...]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            image: dict[str, Any] = {"url": part.url}
            if part.detail:
                image["detail"] = part.detail
            parts.append({"type": "image_url", "image_url": image})
    return parts


def build_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The JSON body of ``POST /v2/chat``; ``extra`` is merged last, as given."""
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [message_to_wire(m) for m in request.messages],
    }
    if stream:
        body["stream"] = True
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        # ``p`` is documented as 0.01..0.99 and refused outside it; 1.0 (no cut) and 0.0
        # (greedy) are the usual values at the ends, so they become the nearest allowed.
        body["p"] = min(max(request.top_p, _P_MIN), _P_MAX)
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if request.seed is not None:
        body["seed"] = request.seed
    if request.tools:
        # v2 takes the OpenAI declaration shape as it is.
        body["tools"] = [dict(t) for t in request.tools]
    if request.tool_choice and request.tool_choice != "auto":
        # v2 knows only REQUIRED / NONE; a named tool is REQUIRED among the tools sent.
        body["tool_choice"] = "NONE" if request.tool_choice == "none" else "REQUIRED"
    body.update(request.extra)
    return body


# -- answers --------------------------------------------------------------------------


def _count(value: Any) -> int:
    """A token count; the API documents them as numbers and sends ``37`` or ``37.0``."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(0, value)
    if isinstance(value, float) and value.is_integer():
        return max(0, int(value))
    return 0


def parse_usage(raw: Any) -> Usage | None:
    """Usage from a ``usage`` object: ``tokens`` when present, else ``billed_units``.

    ``tokens`` counts what the model really read and wrote (prompt template included);
    ``billed_units`` is what is charged. The first matches what other providers report.
    """
    if not isinstance(raw, Mapping):
        return None
    tokens, billed = raw.get("tokens"), raw.get("billed_units")
    source = tokens if isinstance(tokens, Mapping) and tokens else billed
    if not isinstance(source, Mapping):
        return None
    return Usage(
        input_tokens=_count(source.get("input_tokens")),
        output_tokens=_count(source.get("output_tokens")),
        cached_input_tokens=_count(raw.get("cached_tokens")),
    )


def finish_reason(raw: Any, error: Any = None) -> str:
    """The common finish reason for Cohere's; raises for ``ERROR`` and ``TIMEOUT``."""
    reason = raw.upper() if isinstance(raw, str) else ""
    if reason == "ERROR" or (error and not reason):
        detail = str(error) if error else "the model reported an error"
        raise ProviderError(
            f"{PROVIDER}: generation failed: {excerpt(detail, 200)}",
            provider=PROVIDER,
            body=detail,
            code="ERROR",
        )
    if reason == "TIMEOUT":
        raise RequestTimeoutError(
            f"{PROVIDER}: the model ran out of time before the answer was complete",
            provider=PROVIDER,
            code="TIMEOUT",
        )
    return _FINISH_REASONS.get(reason, reason.lower() or "stop")


def parse_chat(data: Any, *, model: str) -> ChatResult:
    """A non-streamed v2 chat answer as a :class:`ChatResult`."""
    try:
        if not isinstance(data, Mapping):
            raise TypeError("the answer is not an object")
        message = data["message"]
        if not isinstance(message, Mapping):
            raise TypeError("message is not an object")
        text, thinking = _content(message.get("content"))
        plan = message.get("tool_plan") or ""
        if not isinstance(plan, str):
            raise TypeError("tool_plan is not text")
        calls = tuple(_tool_call(i, call) for i, call in enumerate(message.get("tool_calls") or ()))
    except (KeyError, TypeError) as exc:
        raise MalformedResponseError(
            f"{PROVIDER}: answer does not follow the v2 chat format: {exc}",
            provider=PROVIDER,
            body=json.dumps(data, default=str)[:300],
        ) from exc
    return ChatResult(
        text=text,
        model=f"{PROVIDER}:{model}",
        finish_reason=finish_reason(data.get("finish_reason"), data.get("error")),
        usage=parse_usage(data.get("usage")) or Usage(),
        tool_calls=calls,
        thinking=thinking + plan,
    )


def _content(content: Any) -> tuple[str, str]:
    """(answer, reasoning) from ``message.content``: a list of text / thinking items."""
    if content is None:
        return "", ""
    if isinstance(content, str):
        return content, ""
    if not isinstance(content, list):
        raise TypeError("content is not a list")
    texts: list[str] = []
    thoughts: list[str] = []
    for item in content:
        kind = item.get("type") if isinstance(item, Mapping) else None
        value = item.get(kind) if isinstance(item, Mapping) and isinstance(kind, str) else None
        if kind not in ("text", "thinking") or not isinstance(value, str):
            raise TypeError(f"unknown content item {excerpt(repr(item), 80)}")
        (texts if kind == "text" else thoughts).append(value)
    return "".join(texts), "".join(thoughts)


def _tool_call(index: int, call: Any) -> ToolCall:
    function = call.get("function") if isinstance(call, Mapping) else None
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise TypeError(f"tool call {index} has no function name")
    arguments = function.get("arguments") or "{}"
    if not isinstance(arguments, str):
        raise TypeError(f"tool call {index} arguments are not JSON text")
    call_id = call.get("id")
    return ToolCall(
        id=call_id if isinstance(call_id, str) and call_id else f"call_{index}",
        name=function["name"],
        arguments=arguments,
    )


# -- errors ---------------------------------------------------------------------------


def map_http_error(status: int, headers: httpx2.Headers, body: str) -> FluentAIError:
    """Read a Cohere error body (``{"message": ...}``, sometimes with an ``id``).

    Cohere adds two statuses of its own: 498 (invalid token) is a rejected key like a
    401; 499 means the request was cancelled and stays a plain :class:`ProviderError`.
    """
    message, code = _error_message(body)
    retry_after = parse_retry_after(headers.get("retry-after"))
    if status == 498:
        return AuthenticationError(
            f"{PROVIDER}: {message or 'invalid token'} (HTTP 498) (check the API key)",
            provider=PROVIDER,
            status=status,
            body=body,
            code=code,
            retry_after=retry_after,
        )
    if status == 499 and not message:
        message = "request cancelled"
    return error_for_status(
        status, message, provider=PROVIDER, body=body, code=code, retry_after=retry_after
    )


def _error_message(body: str) -> tuple[str, str | None]:
    try:
        data = json.loads(body)
    except ValueError:
        return excerpt(body, 200), None
    if isinstance(data, Mapping):
        raw_code = data.get("code")
        code = raw_code if isinstance(raw_code, str) and raw_code else None
        message = data.get("message")
        if isinstance(message, str) and message:
            return excerpt(message, 500), code
        return excerpt(body, 200), code
    return excerpt(body, 200), None
