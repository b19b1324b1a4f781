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

_BY_STATUS: dict[int, type[ProviderError]] = {
    403: PermissionDeniedError,
    404: ModelNotFoundError,
    408: RequestTimeoutError,
    429: RateLimitError,
}


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
    """The error class that matches ``status``, with a message naming the provider.

    ``retry_after`` is kept whatever the status: a 503 or a 408 may ask for a wait just
    as a 429 does, and the retry loop honours it for every retryable error.
    """
    text = f"{provider}: {message} (HTTP {status})" if message else f"{provider}: HTTP {status}"
    cls: type[ProviderError] = _BY_STATUS.get(status, ProviderError)
    if status == 401:
        cls, text = AuthenticationError, f"{text} (check the API key)"
    elif status in (400, 413, 422):
        overflow = code == "context_length_exceeded" or looks_like_context_overflow(message)
        cls = ContextLengthError if overflow else InvalidRequestError
    return cls(
        text, provider=provider, status=status, body=body, code=code, retry_after=retry_after
    )
