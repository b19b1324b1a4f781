"""Reading Gemini's answers: streamed chunks, whole responses and error bodies.

Every streamed ``data:`` event is a complete ``GenerateContentResponse`` and so is the
non-streamed answer, so one reader serves both. There is no ``[DONE]``: an answer is
complete once its candidate carried a ``finishReason``. Errors arrive as Google's
``{"error": {"code", "message", "status", "details"}}`` in error bodies and inside
streams alike; Gemini answers a bad API key with 400, not 401, and says how long to wait
in a ``RetryInfo`` detail rather than a ``Retry-After`` header.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fluent_ai.errors import (
    AuthenticationError,
    ContextLengthError,
    InvalidRequestError,
    MalformedResponseError,
    ProviderError,
    StreamInterruptedError,
    excerpt,
)
from fluent_ai.providers.base import ResultBuilder
from fluent_ai.providers.gemini_wire import synthetic_id
from fluent_ai.providers.streaming import decode_json, malformed
from fluent_ai.transport.status import error_for_status, looks_like_context_overflow
from fluent_ai.types import (
    ChatResult,
    Chunk,
    Done,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    Usage,
    UsageChunk,
)

__all__ = [
    "ResponseReader",
    "error_from_payload",
    "finish_reason",
    "parse_response",
    "parse_usage",
]

# Finish reasons that mean a filter stopped the answer (the rest are lower-cased).
_FILTERED = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"}
    | {"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}
)
_BAD_KEY_MESSAGES = ("api key not valid", "api key not found", "api key expired")


def finish_reason(raw: str, *, called: bool) -> str:
    """Gemini's ``finishReason`` in the common vocabulary (``stop``, ``length`` …)."""
    if raw == "STOP":
        return "tool_calls" if called else "stop"
    if raw == "MAX_TOKENS":
        return "length"
    if raw in _FILTERED:
        return "content_filter"
    return raw.lower()


def parse_usage(raw: Any) -> Usage:
    """Token counts from ``usageMetadata``; thoughts are output, tool-use prompts input."""
    if not isinstance(raw, Mapping):
        return Usage()
    return Usage(
        input_tokens=_int(raw.get("promptTokenCount")) + _int(raw.get("toolUsePromptTokenCount")),
        output_tokens=_int(raw.get("candidatesTokenCount")) + _int(raw.get("thoughtsTokenCount")),
        cached_input_tokens=_int(raw.get("cachedContentTokenCount")),
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class ResponseReader:
    """Turns ``GenerateContentResponse`` payloads into chunks, remembering the finish,
    the usage, the model version and how many function calls were made."""

    __slots__ = ("calls", "finish", "model", "provider", "usage")

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.finish: str | None = None
        self.usage: Usage | None = None
        self.calls = 0

    def decode(self, data: str) -> Any:
        """Parse one event's JSON text (a malformed event is a typed error)."""
        return decode_json(self.provider, data, "stream event")

    def _malformed(self, what: str, value: Any) -> MalformedResponseError:
        return malformed(self.provider, what, value, "answer")

    def feed(self, payload: Any) -> list[Chunk]:
        """The chunks carried by one response payload."""
        if not isinstance(payload, dict):
            raise self._malformed("not an object", payload)
        if "error" in payload:
            raise error_from_payload(payload, provider=self.provider)
        version = payload.get("modelVersion")
        if isinstance(version, str) and version:
            self.model = version.removeprefix("models/")
        if payload.get("usageMetadata") is not None:
            self.usage = parse_usage(payload["usageMetadata"])
        candidates = payload.get("candidates")
        if not candidates:
            self._check_blocked(payload.get("promptFeedback"))
            return []
        if not isinstance(candidates, list) or not all(isinstance(c, dict) for c in candidates):
            raise self._malformed("candidates is not a list of objects", candidates)
        candidate = next((c for c in candidates if c.get("index", 0) == 0), candidates[0])
        content = candidate.get("content") or {}
        parts = (content.get("parts") or []) if isinstance(content, dict) else None
        if not isinstance(parts, list):
            raise self._malformed("content has no list of parts", content)
        chunks: list[Chunk] = []
        for part in parts:
            if not isinstance(part, dict):
                raise self._malformed("part is not an object", part)
            if "functionCall" in part:
                chunks.append(self._call(part))
                continue
            text = part.get("text")
            if text is None:
                continue  # inline data, code execution …: nothing the chunk kinds carry
            if not isinstance(text, str):
                raise self._malformed("text is not a string", part)
            if text:
                chunks.append(ThinkingDelta(text) if part.get("thought") else TextDelta(text))
        finish = candidate.get("finishReason")
        if finish:
            self.finish = str(finish)
        return chunks

    def _call(self, part: dict[str, Any]) -> ToolCallDelta:
        """One whole function call; its ``thoughtSignature`` rides along on the delta."""
        call = part["functionCall"]
        name = call.get("name") if isinstance(call, dict) else None
        args = (call.get("args") or {}) if isinstance(call, dict) else None
        call_id = call.get("id") if isinstance(call, dict) else None
        signature = part.get("thoughtSignature")
        if (
            not isinstance(name, str)
            or not isinstance(args, dict)
            or not (call_id is None or isinstance(call_id, str))
            or not (signature is None or isinstance(signature, str))
        ):
            raise self._malformed("function call has the wrong shape", part)
        index = self.calls
        self.calls += 1
        arguments = json.dumps(args, ensure_ascii=False)
        # Older models give no ids: a made-up one, recognisable so it is never sent back.
        return ToolCallDelta(index, call_id or synthetic_id(), name, arguments, signature or None)

    def _check_blocked(self, feedback: Any) -> None:
        reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
        if reason:
            raise InvalidRequestError(
                f"{self.provider}: the prompt was blocked ({reason}); nothing was generated",
                provider=self.provider,
                body=json.dumps(feedback)[:300],
                code=str(reason),
            )

    def finish_chunks(self, *, streamed: bool) -> list[Chunk]:
        """The closing chunks; a stream that never gave a finish reason was cut."""
        if self.finish is None and streamed:
            raise StreamInterruptedError(
                f"{self.provider}: stream ended before the answer was complete",
                provider=self.provider,
            )
        chunks: list[Chunk] = []
        if self.usage is not None:
            chunks.append(UsageChunk(self.usage))
        reason = finish_reason(self.finish or "STOP", called=self.calls > 0)
        chunks.append(Done(reason, f"{self.provider}:{self.model}"))
        return chunks


def parse_response(data: Any, *, provider: str, model: str) -> ChatResult:
    """A non-streamed ``GenerateContentResponse`` as a :class:`ChatResult`."""
    reader = ResponseReader(provider, model)
    builder = ResultBuilder(f"{provider}:{model}")
    for chunk in reader.feed(data) + reader.finish_chunks(streamed=False):
        builder.add(chunk)
    return builder.result()


# -- errors ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _GoogleError:
    """What a ``google.rpc.Status`` error object says."""

    message: str
    code: int | None = None
    status: str | None = None
    reason: str | None = None
    retry_delay: float | None = None


def _read_error(error: Any) -> _GoogleError:
    if not isinstance(error, Mapping):
        return _GoogleError(excerpt(str(error), 300))
    reason: str | None = None
    delay: float | None = None
    details = error.get("details")
    for detail in details if isinstance(details, list) else ():
        if not isinstance(detail, Mapping):
            continue
        kind = str(detail.get("@type", ""))
        if kind.endswith("google.rpc.ErrorInfo") and detail.get("reason"):
            reason = str(detail["reason"])
        elif kind.endswith("google.rpc.RetryInfo"):
            delay = _duration(detail.get("retryDelay"))
    code = error.get("code")
    status = error.get("status")
    return _GoogleError(
        message=excerpt(str(error.get("message") or status or "unknown error"), 500),
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        status=str(status) if status else None,
        reason=reason,
        retry_delay=delay,
    )


def _duration(value: Any) -> float | None:
    """A protobuf ``Duration`` in JSON (``"7s"``, ``"0.5s"``) or as an object, in seconds."""
    try:
        if isinstance(value, str) and value.endswith("s"):
            seconds = float(value[:-1])
        elif isinstance(value, Mapping):
            seconds = float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9
        else:
            return None
    except (TypeError, ValueError):
        return None
    return max(0.0, seconds) if seconds == seconds else None


def error_from_payload(
    payload: Mapping[str, Any],
    *,
    provider: str,
    status: int | None = None,
    body: str | None = None,
    retry_after: float | None = None,
) -> ProviderError:
    """The typed error for an ``{"error": …}`` payload: an error body (``status`` is the
    HTTP status) or an error met inside a stream (the payload's ``code`` is used).

    ``retry_after`` (a ``Retry-After`` header) wins over the ``RetryInfo`` detail.
    """
    error = _read_error(payload.get("error"))
    status = error.code if status is None else status
    body = json.dumps(payload, ensure_ascii=False) if body is None else body
    message, code = error.message, error.reason or error.status
    if status is None:
        return ProviderError(f"{provider}: {message}", provider=provider, body=body, code=code)
    lowered = message.lower()
    bad_key = error.reason == "API_KEY_INVALID" or any(m in lowered for m in _BAD_KEY_MESSAGES)
    if bad_key or (status == 403 and "unregistered callers" in lowered):
        # Gemini answers a wrong key with 400 and a missing one with 403.
        return AuthenticationError(
            f"{provider}: {message} (HTTP {status}) (check the API key)",
            provider=provider,
            status=status,
            body=body,
            code=code,
        )
    overflow = "exceeds the maximum number of tokens" in lowered
    if status == 400 and (overflow or looks_like_context_overflow(message)):
        return ContextLengthError(
            f"{provider}: {message} (HTTP {status})",
            provider=provider,
            status=status,
            body=body,
            code=code,
        )
    wait = error.retry_delay if retry_after is None else retry_after
    return error_for_status(
        status, message, provider=provider, body=body, code=code, retry_after=wait
    )
