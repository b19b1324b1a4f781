"""HTTP transport shared by every provider: pooled clients, retries, breaker, SSE."""

from fluent_ai.transport.breaker import BreakerRegistry, CircuitBreaker
from fluent_ai.transport.http import ErrorMapper, HttpTransport, TransportConfig, default_breakers
from fluent_ai.transport.pool import ClientPool, Timeouts, default_pool
from fluent_ai.transport.retry import RetryPolicy, is_retryable, parse_retry_after
from fluent_ai.transport.sse import SSEDecoder, SSEEvent, iter_sse

__all__ = [
    "BreakerRegistry",
    "CircuitBreaker",
    "ClientPool",
    "ErrorMapper",
    "HttpTransport",
    "RetryPolicy",
    "SSEDecoder",
    "SSEEvent",
    "Timeouts",
    "TransportConfig",
    "default_breakers",
    "default_pool",
    "is_retryable",
    "iter_sse",
    "parse_retry_after",
]
