"""When to retry, and how long to wait.

Exponential backoff with full jitter (AWS architecture blog: the delay is uniform in
``[0, min(cap, base * 2**attempt)]``), except that a ``Retry-After`` from the upstream
wins: it is what the server asked for. Every wait is bounded by the policy's total
deadline, so a caller always gets an answer or an error within a known time.
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import random
import time
from dataclasses import dataclass

from fluent_ai.errors import (
    FluentAIError,
    ProviderConnectionError,
    ProviderError,
    RateLimitError,
    RequestTimeoutError,
)

log = logging.getLogger("fluent_ai.transport")

__all__ = [
    "RETRYABLE_STATUS",
    "RetryPolicy",
    "is_retryable",
    "parse_retry_after",
    "upstream_wait",
    "wait_before_retry",
]

RETRYABLE_STATUS = frozenset({408, 409, 429})

_NOT_RETRYABLE_CODES = frozenset(
    {"insufficient_quota", "billing_hard_limit_reached", "enforced_spend_limit_reached"}
)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # asctime dates carry no zone; HTTP dates are all GMT
            when = when.replace(tzinfo=datetime.UTC)
        current = time.time() if now is None else now
        seconds = when.timestamp() - current
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def is_retryable(error: FluentAIError) -> bool:
    """Whether sending the same request again can succeed."""
    if isinstance(error, RateLimitError):
        if error.code in _NOT_RETRYABLE_CODES:
            return False
        return not any(code in error.body for code in _NOT_RETRYABLE_CODES)
    if isinstance(error, ProviderConnectionError | RequestTimeoutError):
        return True
    if isinstance(error, ProviderError) and error.status is not None:
        return error.status in RETRYABLE_STATUS or error.status >= 500
    return False


def upstream_wait(error: FluentAIError) -> float | None:
    """The wait the upstream asked for (``Retry-After``, on any status), if it asked."""
    retry_after = error.retry_after if isinstance(error, ProviderError) else None
    if isinstance(retry_after, int | float) and retry_after >= 0:
        return float(retry_after)
    return None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to retry and within which total time.

    ``max_retries`` counts retries, not attempts: 3 means up to 4 requests.
    ``deadline`` (seconds) bounds the whole call including every wait.
    """

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    deadline: float = 300.0

    def delay(self, attempt: int, error: FluentAIError) -> float:
        """The wait before retry number ``attempt`` (0-based) after ``error``."""
        retry_after = upstream_wait(error)
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return random.uniform(0.0, ceiling)


def wait_before_retry(
    policy: RetryPolicy, error: FluentAIError, attempt: int, remaining: float
) -> float | None:
    """Seconds to wait before retry ``attempt + 1`` after ``error``, or ``None`` to give up.

    A ``Retry-After`` is honoured whatever the status (503s send it too), but one beyond
    ``max_retry_after``, or a wait past the ``remaining`` deadline, means giving up at once.
    """
    if attempt >= policy.max_retries or not is_retryable(error):
        return None
    retry_after = upstream_wait(error)
    if retry_after is not None and retry_after > policy.max_retry_after:
        return None
    wait = policy.delay(attempt, error)
    if wait >= remaining:
        return None
    log.info(
        "%s: %s; retry %d/%d in %.2fs",
        error.provider,
        error,
        attempt + 1,
        policy.max_retries,
        wait,
    )
    return wait
