"""The typed error hierarchy.

Every failure a user can meet is one of these classes, so callers can ``except`` exactly
what they can handle (a rate limit, a bad key) and let the rest surface. Messages never
contain secrets: provider bodies are cut to a short excerpt before they are stored here.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "CircuitOpenError",
    "ConfigurationError",
    "ContextLengthError",
    "FluentAIError",
    "InvalidParameterError",
    "InvalidRequestError",
    "MalformedResponseError",
    "ModelNotFoundError",
    "PermissionDeniedError",
    "ProviderConnectionError",
    "ProviderError",
    "RateLimitError",
    "RequestTimeoutError",
    "StreamInterruptedError",
    "ToolLoopLimitError",
    "UnsupportedFeatureError",
    "excerpt",
    "redact_url",
]

_EXCERPT_LIMIT = 300


def excerpt(text: str, limit: int = _EXCERPT_LIMIT) -> str:
    """Cut ``text`` to one short line so an error message stays readable."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def redact_url(url: str) -> str:
    """``url`` fit for a message: user-info, query values and fragment replaced by ``***``.

    Base URLs come from configuration and may carry credentials
    (``http://user:sk-…@host/v1``, ``?api-key=…``); an error message or a log line must
    not repeat them. The URL may be malformed (this also serves the "invalid URL" error),
    so this is plain string work, and it errs on the side of hiding too much: everything
    between ``//`` and the *last* ``@`` before the query goes, even when a ``/`` inside an
    unencoded password would make a parser see a path there.
    """
    head, hash_, _ = url.partition("#")
    head, question, query = head.partition("?")
    start = head.find("//")
    start = 0 if start == -1 else start + 2
    at = head.rfind("@")
    if at >= start:
        head = f"{head[:start]}***{head[at:]}"
    if question:
        pairs = (
            f"{name}=***" if sep else "***"
            for name, sep, _ in (pair.partition("=") for pair in query.split("&") if pair)
        )
        head = f"{head}?{'&'.join(pairs)}"
    return f"{head}#***" if hash_ else head


class FluentAIError(Exception):
    """Base class of every error raised by fluent-ai."""

    def __init__(self, message: str, *, provider: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        #: Requests the transport made before giving up with this error; ``None`` when
        #: the error did not come out of the transport's retry loop (an error event
        #: inside a stream, a validation error), so nobody has retried it yet.
        self.attempts: int | None = None

    def __str__(self) -> str:
        return self.message


class ConfigurationError(FluentAIError):
    """The request cannot be sent as configured (missing key, unknown provider, bad value)."""


class InvalidParameterError(ConfigurationError, ValueError):
    """A builder or API argument is wrong; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


class UnsupportedFeatureError(ConfigurationError):
    """The model cannot do what the request asks (tools, images, that long an answer).

    Raised before anything is sent, from what the model catalogue says the model can do.
    """

    def __init__(self, message: str, *, provider: str | None = None, feature: str) -> None:
        super().__init__(message, provider=provider)
        self.feature = feature


class ToolLoopLimitError(FluentAIError):
    """The model kept asking for tools past the agent's bound on tool rounds."""

    def __init__(self, message: str, *, rounds: int) -> None:
        super().__init__(message)
        self.rounds = rounds


class ProviderError(FluentAIError):
    """An upstream answered with an error, or could not be reached.

    ``status`` is the HTTP status when there was one; ``code`` the machine-readable error
    code the upstream gave (``insufficient_quota`` …); ``body`` a short excerpt of what the
    upstream said, never the whole (possibly huge) body. ``retry_after`` is the wait in
    seconds the upstream asked for (``Retry-After``), whatever the status: a 503 asks for
    it as much as a 429 does, and the transport honours it for every retryable error.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        body: str = "",
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider)
        self.status = status
        self.body = excerpt(body)
        self.code = code
        self.retry_after = retry_after


class AuthenticationError(ProviderError):
    """The credentials were rejected (HTTP 401): wrong, expired or revoked key."""


class PermissionDeniedError(ProviderError):
    """The credentials are valid but not allowed to do this (HTTP 403)."""


class ModelNotFoundError(ProviderError):
    """The provider does not know the requested model (HTTP 404)."""


class InvalidRequestError(ProviderError):
    """The upstream rejected the request as malformed (HTTP 400/422)."""


class ContextLengthError(InvalidRequestError):
    """The prompt plus the requested output do not fit the model's context window."""


class RateLimitError(ProviderError):
    """Too many requests (HTTP 429). ``retry_after`` is the wait the upstream asked for."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = 429,
        body: str = "",
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            provider=provider,
            status=status,
            body=body,
            code=code,
            retry_after=retry_after,
        )


class RequestTimeoutError(ProviderError):
    """The upstream did not answer within the configured connect, read or total timeout."""


class ProviderConnectionError(ProviderError):
    """The upstream could not be reached (refused, reset, DNS failure)."""


class CircuitOpenError(ProviderError):
    """Calls to this host are paused after repeated failures; ``retry_after`` says for how long."""

    retry_after: float

    def __init__(self, message: str, *, provider: str | None = None, retry_after: float) -> None:
        super().__init__(message, provider=provider, retry_after=retry_after)


class MalformedResponseError(ProviderError):
    """The upstream sent something that does not follow its protocol (bad JSON, bad frame)."""


class StreamInterruptedError(ProviderError):
    """A stream ended before it was complete. ``partial_text`` holds what had arrived."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        partial_text: str = "",
    ) -> None:
        super().__init__(message, provider=provider)
        self.partial_text = partial_text
