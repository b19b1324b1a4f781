"""Authentication failures, typed so the server can map them to 401 / 403 without guessing."""

from __future__ import annotations

from fluent_ai.errors import FluentAIError

__all__ = ["CredentialsError", "ScopeError"]


class CredentialsError(FluentAIError):
    """The credential is missing, unknown, malformed, expired or revoked (HTTP 401).

    ``code`` is machine-readable (``missing_credentials``, ``invalid_api_key``,
    ``revoked_api_key``, ``expired_token``, ``invalid_token``); the message never repeats
    the secret.
    """

    def __init__(self, message: str, *, code: str = "invalid_api_key") -> None:
        super().__init__(message)
        self.code = code


class ScopeError(FluentAIError):
    """The credential is valid but lacks the scope this call needs (HTTP 403)."""

    def __init__(self, scope: str, subject: str) -> None:
        super().__init__(f"{subject!r} lacks the {scope!r} scope this endpoint needs")
        self.scope = scope
        self.code = "insufficient_scope"
