"""The Bedrock Converse wire format: request bodies, answers, and errors.

Field names follow the Converse / ConverseStream API reference (``messages``,
``system``, ``inferenceConfig``, ``toolConfig``, ``additionalModelRequestFields``).
Converse insists on alternating user/assistant turns, so consecutive messages of one
role are merged and tool results travel in a user message, as the API requires.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fluent_ai.errors import (
    AuthenticationError,
    ContextLengthError,
    FluentAIError,
    InvalidParameterError,
    InvalidRequestError,
    MalformedResponseError,
    ProviderError,
    RateLimitError,
)
from fluent_ai.transport.http import ErrorMapper
from fluent_ai.transport.retry import parse_retry_after
from fluent_ai.transport.status import error_for_status, looks_like_context_overflow
from fluent_ai.types import ChatRequest, ChatResult, ImagePart, Message, Role, ToolCall, Usage

if TYPE_CHECKING:
    import httpx

__all__ = [
    "FINISH_REASONS",
    "build_body",
    "error_from_event",
    "finish_reason",
    "map_http_error",
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
# Error types meaning "these credentials or this signature are not accepted" (HTTP 403,
# or 400 on some AWS endpoints): an authentication failure, not a missing permission.
_AUTH_ERRORS = frozenset(
    [
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "MissingAuthenticationTokenException",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
    ]
)
# Bedrock's own wording for a prompt that does not fit (besides the common markers).
_OVERFLOW_MARKERS = ("input is too long", "too many input tokens", "input length exceeds")
# Stream exception member → the HTTP status the API reference gives it.
_EVENT_STATUS = {
    "throttlingException": 429,
    "validationException": 400,
    "internalServerException": 500,
    "serviceUnavailableException": 503,
    "modelStreamErrorException": 424,
}


# -- request ------------------------------------------------------------------------


def build_body(request: ChatRequest) -> dict[str, Any]:
    """The JSON body of a Converse or ConverseStream request (the model id is in the path).

    Converse has no ``seed``: it is not sent (``extra`` can pass a model's own field).
    """
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role is Role.SYSTEM:
            if message.text:
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
        inference["temperature"] = request.temperature
    if request.top_p is not None:
        inference["topP"] = request.top_p
    if request.stop:
        inference["stopSequences"] = list(request.stop)
    if inference:
        body["inferenceConfig"] = inference
    if request.tools:
        body["toolConfig"] = {"tools": [_tool_spec(tool) for tool in request.tools]}
    _merge_extra(body, request.extra)
    return body


def _content(message: Message) -> list[dict[str, Any]]:
    """The content blocks of one message (text, images, tool uses, a tool result)."""
    if message.role is Role.TOOL:
        if not message.tool_call_id:
            raise InvalidParameterError("tool_call_id", "Bedrock matches tool results by call id")
        result = {"toolUseId": message.tool_call_id, "content": [{"text": message.text}]}
        return [{"toolResult": result}]
    blocks: list[dict[str, Any]] = []
    parts = (message.content,) if isinstance(message.content, str) else message.content
    for part in parts:
        if isinstance(part, str):
            if part:
                blocks.append({"text": part})
        elif isinstance(part, ImagePart):
            blocks.append({"image": _image(part)})
        elif part.text:
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
    schema = function.get("parameters") or {"type": "object", "properties": {}}
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
    """Token counts from a Converse ``usage`` object (missing fields count as zero)."""
    if not isinstance(raw, Mapping):
        return Usage()
    return Usage(
        input_tokens=_int(raw.get("inputTokens")),
        output_tokens=_int(raw.get("outputTokens")),
        cached_input_tokens=_int(raw.get("cacheReadInputTokens")),
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_converse(data: Any, *, provider: str, model: str) -> ChatResult:
    """A Converse answer (``output.message.content`` blocks) as a :class:`ChatResult`."""
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    try:
        for block in data["output"]["message"]["content"]:
            if "text" in block:
                texts.append(str(block["text"]))
            elif "reasoningContent" in block:
                reasoning = block["reasoningContent"].get("reasoningText") or {}
                thoughts.append(str(reasoning.get("text", "")))
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
    )


# -- errors ---------------------------------------------------------------------------


def _is_overflow(message: str) -> bool:
    lowered = message.lower()
    return looks_like_context_overflow(message) or any(m in lowered for m in _OVERFLOW_MARKERS)


def map_http_error(provider: str) -> ErrorMapper:
    """An error mapper reading AWS error answers: ``x-amzn-ErrorType`` and ``{"message"}``."""

    def mapper(status: int, headers: httpx.Headers, body: str) -> FluentAIError:
        message, kind = _error_message(body)
        kind = (headers.get("x-amzn-errortype") or kind).split(":", 1)[0].rpartition("#")[2]
        retry_after = parse_retry_after(headers.get("retry-after"))
        code = kind or None
        if kind in _AUTH_ERRORS or status == 401:
            text = f"{provider}: {message or kind} (HTTP {status}; check the AWS credentials)"
            return AuthenticationError(text, provider=provider, status=status, body=body, code=code)
        if status in (400, 413) and _is_overflow(message):
            text = f"{provider}: {message} (HTTP {status})"
            return ContextLengthError(text, provider=provider, status=status, body=body, code=code)
        return error_for_status(
            status, message, provider=provider, body=body, code=code, retry_after=retry_after
        )

    return mapper


def _error_message(body: str) -> tuple[str, str]:
    """The message and the ``__type`` (if any) of an AWS JSON error body."""
    try:
        data = json.loads(body)
    except ValueError:
        return " ".join(body.split())[:200], ""
    if not isinstance(data, Mapping):
        return " ".join(body.split())[:200], ""
    message = data.get("message") or data.get("Message") or ""
    return str(message)[:500], str(data.get("__type") or "")


def error_from_event(event: str, data: str, *, provider: str) -> ProviderError:
    """An ``exception:<type>`` / ``error:<code>`` stream message as a typed error.

    ``status`` is the one the API reference gives the exception, so retry logic and
    callers read a mid-stream throttle exactly like a 429 answer.
    """
    kind = event.partition(":")[2]
    try:
        payload = json.loads(data) if data else {}
    except ValueError:
        payload = {}
    if not isinstance(payload, Mapping):
        payload = {}
    message = str(payload.get("message") or data or kind)
    if payload.get("originalMessage"):
        message = f"{message}: {payload['originalMessage']}"
    status = _EVENT_STATUS.get(kind, 500)
    text = f"{provider}: {kind}: {message}"
    cls: type[ProviderError] = ProviderError
    if status == 429:
        cls = RateLimitError
    elif status == 400:
        cls = ContextLengthError if _is_overflow(message) else InvalidRequestError
    return cls(text, provider=provider, status=status, body=data, code=kind or None)
