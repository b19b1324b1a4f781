"""What a transport is configured with, and the hooks a provider plugs into it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from fluent_ai.errors import FluentAIError
from fluent_ai.transport.pool import Timeouts
from fluent_ai.transport.retry import RetryPolicy
from fluent_ai.transport.sse import SSEEvent

if TYPE_CHECKING:
    import httpx2

__all__ = ["ErrorMapper", "RequestSigner", "StreamDecoder", "TransportConfig"]

#: Reads an error answer: ``(status, headers, body text) -> typed error``.
ErrorMapper = Callable[[int, "httpx2.Headers", str], FluentAIError]
#: Adds per-request headers computed from the exact bytes sent (AWS SigV4 signing):
#: ``(method, url, headers, body) -> headers to add``.
RequestSigner = Callable[[str, str, Mapping[str, str], bytes], Mapping[str, str]]


class StreamDecoder(Protocol):
    """Turns the bytes of a streamed body into events (SSE by default).

    ``feed`` returns the events a piece completed; ``check`` raises what was held back;
    ``has_partial_line`` says the body ended inside an event; ``flush`` returns the
    last events at the end of the body.
    """

    def feed(self, chunk: bytes) -> list[SSEEvent]: ...

    def check(self) -> None: ...

    @property
    def has_partial_line(self) -> bool: ...

    def flush(self) -> list[SSEEvent]: ...


@dataclass(frozen=True, slots=True)
class TransportConfig:
    """Timeouts, retry policy and the most requests in flight to one provider."""

    timeouts: Timeouts = field(default_factory=Timeouts)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_concurrency: int = 64
