"""Bedrock's errors: AWS JSON error answers and the exceptions of a ConverseStream.

AWS names the error in ``x-amzn-ErrorType`` (and ``__type``) and explains it in
``{"message"}``. A signature mismatch message repeats the canonical request the service
expected, header values included, so it would carry the session token
(``x-amz-security-token``) into a log line: that part is cut off before anything is stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from fluent_ai.errors import (
    AuthenticationError,
    ContextLengthError,
    FluentAIError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
)
from fluent_ai.transport.http import ErrorMapper
from fluent_ai.transport.retry import parse_retry_after
from fluent_ai.transport.status import error_for_status, looks_like_context_overflow

if TYPE_CHECKING:
    import httpx2

__all__ = ["error_from_event", "map_http_error", "scrub"]

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
# Quota errors Bedrock answers with 400 although "you can resubmit your request later".
_QUOTA_ERRORS = frozenset(["ServiceQuotaExceededException"])
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
# Where AWS starts echoing what it signed; everything from there on is dropped.
_ECHO_MARKERS = ("The Canonical String for this request", "The String-to-Sign should")
_TOKEN = re.compile(r"(x-amz-security-token\s*[:=]\s*)[^\s'\"\\,&]+", re.IGNORECASE)


def scrub(text: str) -> str:
    """``text`` without the canonical request AWS echoes (and any session token in it)."""
    for marker in _ECHO_MARKERS:
        cut = text.find(marker)
        if cut != -1:
            text = text[:cut].rstrip()
            while text.endswith("\\n"):  # the line breaks as escaped in a JSON body
                text = text[:-2].rstrip()
    return _TOKEN.sub(r"\1***", text)


def _is_overflow(message: str) -> bool:
    lowered = message.lower()
    return looks_like_context_overflow(message) or any(m in lowered for m in _OVERFLOW_MARKERS)


def map_http_error(provider: str) -> ErrorMapper:
    """An error mapper reading AWS error answers: ``x-amzn-ErrorType`` and ``{"message"}``."""

    def mapper(status: int, headers: httpx2.Headers, body: str) -> FluentAIError:
        message, kind = _error_message(body)
        body = scrub(body)
        kind = (headers.get("x-amzn-errortype") or kind).split(":", 1)[0].rpartition("#")[2]
        retry_after = parse_retry_after(headers.get("retry-after"))
        code = kind or None
        if kind in _AUTH_ERRORS or status == 401:
            text = f"{provider}: {message or kind} (HTTP {status}; check the AWS credentials)"
            return AuthenticationError(text, provider=provider, status=status, body=body, code=code)
        if kind in _QUOTA_ERRORS:
            text = f"{provider}: {message or kind} (HTTP {status})"
            return RateLimitError(
                text,
                provider=provider,
                status=status,
                body=body,
                code=code,
                retry_after=retry_after,
            )
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
        data = None
    if not isinstance(data, Mapping):
        return " ".join(scrub(body).split())[:200], ""
    message = data.get("message") or data.get("Message") or ""
    return scrub(str(message))[:500], str(data.get("__type") or "")


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
