"""The typed errors a transport raises for what went wrong on the wire.

Kept apart from the sending logic: each message names the provider and shows the base
URL with its credentials redacted, and an exception's text is scrubbed of any secret the
URL carried before it is quoted.
"""

from __future__ import annotations

from fluent_ai.errors import (
    FluentAIError,
    ProviderConnectionError,
    RequestTimeoutError,
    StreamInterruptedError,
    excerpt,
)
from fluent_ai.transport.contracts import TransportConfig

__all__ = ["Failures", "note_attempts"]


class Failures:
    """Builds the transport's errors for one provider and base URL."""

    def __init__(
        self, provider: str, shown_url: str, secrets: tuple[str, ...], config: TransportConfig
    ) -> None:
        self.provider = provider
        self._shown_url = shown_url
        self._secrets = secrets
        self.config = config

    def timeout(self, exc: Exception) -> RequestTimeoutError:
        kind = type(exc).__name__.replace("Timeout", " timeout").strip().lower()
        return RequestTimeoutError(
            f"{self.provider}: {kind} talking to {self._shown_url}", provider=self.provider
        )

    def deadline(self) -> RequestTimeoutError:
        return RequestTimeoutError(
            f"{self.provider}: no answer within the total deadline of "
            f"{self.config.retry.deadline:g}s",
            provider=self.provider,
        )

    def stalled(self) -> StreamInterruptedError:
        return StreamInterruptedError(
            f"{self.provider}: stream stalled (no data for {self.config.timeouts.read:g}s)",
            provider=self.provider,
        )

    def connection(self, exc: Exception) -> ProviderConnectionError:
        return ProviderConnectionError(
            f"{self.provider}: cannot reach {self._shown_url}: {self.describe(exc)}",
            provider=self.provider,
        )

    def cut(self, exc: Exception) -> StreamInterruptedError:
        return StreamInterruptedError(
            f"{self.provider}: stream cut: {self.describe(exc)}", provider=self.provider
        )

    def describe(self, exc: BaseException) -> str:
        """A short description of ``exc`` that never repeats the base URL's credentials."""
        text = str(exc) or type(exc).__name__
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return excerpt(text, 160)


def note_attempts(error: FluentAIError, retries: int) -> None:
    """Record the attempts on the error and, when there were retries, say so in its
    message, so a final error explains its delay."""
    error.attempts = retries + 1
    if retries:
        error.message = f"{error.message} (gave up after {retries + 1} attempts)"
