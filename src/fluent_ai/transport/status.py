"""Map an HTTP error status (and what the upstream said) to the typed error hierarchy."""

from __future__ import annotations

from fluent_ai.errors import (
    AuthenticationError,
    ContextLengthError,
    InvalidRequestError,
    ModelNotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    RequestTimeoutError,
)

__all__ = ["error_for_status", "looks_like_context_overflow"]

_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "too many tokens",
    "exceeds the available context",
    "prompt is too long",
)


def looks_like_context_overflow(text: str) -> bool:
    """Whether an upstream message says the prompt did not fit the context window."""
    lowered = text.lower()
    return any(marker in lowered for marker in _CONTEXT_MARKERS)


def error_for_status(
    status: int,
    message: str,
    *,
    provider: str,
    body: str = "",
    code: str | None = None,
    retry_after: float | None = None,
) -> ProviderError:
    """The error class that matches ``status``, with a message naming the provider."""
    text = f"{provider}: {message} (HTTP {status})" if message else f"{provider}: HTTP {status}"
    if status == 401:
        return AuthenticationError(
            f"{text} (check the API key)", provider=provider, status=status, body=body, code=code
        )
    if status == 403:
        return PermissionDeniedError(text, provider=provider, status=status, body=body, code=code)
    if status == 404:
        return ModelNotFoundError(text, provider=provider, status=status, body=body, code=code)
    if status == 429:
        return RateLimitError(
            text, provider=provider, status=status, body=body, code=code, retry_after=retry_after
        )
    if status == 408:
        return RequestTimeoutError(text, provider=provider, status=status, body=body, code=code)
    if status in (400, 413, 422):
        if code == "context_length_exceeded" or looks_like_context_overflow(message):
            return ContextLengthError(text, provider=provider, status=status, body=body, code=code)
        return InvalidRequestError(text, provider=provider, status=status, body=body, code=code)
    return ProviderError(text, provider=provider, status=status, body=body, code=code)
