"""Client-side rate limits: at most N requests and M tokens per minute to one provider.

A token bucket per limit, refilled continuously (``rpm / 60`` per second). A caller
*reserves* what it needs, driving the bucket negative if it must, and sleeps until the
debt is repaid, so concurrent callers queue in arrival order without a lock held across
the wait. Token use is reserved from an estimate before the call and corrected with the
real usage after it. The state is guarded by a thread lock: agents on several event loops
(the sync portal, a server's workers) share one budget per process.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from fluent_ai.errors import RateLimitError

__all__ = ["Limits", "RateLimiter", "TokenBucket"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Requests and tokens per minute; ``None`` means unlimited."""

    rpm: int | None = None
    tpm: int | None = None


class TokenBucket:
    """``capacity`` units, refilled at ``capacity`` per minute; may go into debt."""

    __slots__ = ("capacity", "level", "rate", "updated")

    def __init__(self, per_minute: int, now: float) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.level = self.capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def reserve(self, amount: float, now: float) -> float:
        """Take ``amount`` (at most a full bucket); seconds until it is really available."""
        self._refill(now)
        self.level -= min(amount, self.capacity)
        return 0.0 if self.level >= 0 else -self.level / self.rate

    def give_back(self, amount: float, now: float) -> None:
        """Return what :meth:`reserve` took for ``amount`` (capped the same way)."""
        self._refill(now)
        self.level = min(self.capacity, self.level + min(amount, self.capacity))


class RateLimiter:
    """Per-provider budgets from the ``rate_limits`` settings."""

    def __init__(self, limits: Mapping[str, Limits] | None = None) -> None:
        self._limits = dict(limits or {})
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return any(limit.rpm or limit.tpm for limit in self._limits.values())

    def _bucket(self, provider: str, kind: str, now: float) -> TokenBucket | None:
        limit = self._limits.get(provider)
        per_minute = None if limit is None else (limit.rpm if kind == "rpm" else limit.tpm)
        if not per_minute:
            return None
        key = (provider, kind)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(per_minute, now)
        return bucket

    async def acquire(self, provider: str, tokens: int, *, max_wait: float) -> None:
        """Wait until one more request of about ``tokens`` tokens fits the budget.

        A wait longer than ``max_wait`` is refused at once with :class:`RateLimitError`
        (its ``retry_after`` says how long), and nothing is reserved.
        """
        now = time.monotonic()
        with self._lock:
            requests = self._bucket(provider, "rpm", now)
            budget = self._bucket(provider, "tpm", now)
            wait = 0.0
            if requests is not None:
                wait = max(wait, requests.reserve(1, now))
            if budget is not None and tokens > 0:
                wait = max(wait, budget.reserve(tokens, now))
            if wait > max_wait:
                if requests is not None:
                    requests.give_back(1, now)
                if budget is not None and tokens > 0:
                    budget.give_back(tokens, now)
                raise RateLimitError(
                    f"{provider}: client-side rate limit reached; the next slot is in "
                    f"{wait:.1f}s (rate_limits.{provider} in the settings)",
                    provider=provider,
                    retry_after=wait,
                    status=None,
                    code="client_rate_limit",
                )
        if wait > 0:
            try:
                await asyncio.sleep(wait)
            except asyncio.CancelledError:
                self._refund(provider, tokens)
                raise

    def _refund(self, provider: str, tokens: int) -> None:
        """Give back a reservation whose request will never be sent (its caller left)."""
        now = time.monotonic()
        with self._lock:
            requests = self._bucket(provider, "rpm", now)
            budget = self._bucket(provider, "tpm", now)
            if requests is not None:
                requests.give_back(1, now)
            if budget is not None and tokens > 0:
                budget.give_back(tokens, now)

    def settle(self, provider: str, estimated: int, actual: int) -> None:
        """Correct a reservation of ``estimated`` tokens once ``actual`` use is known."""
        now = time.monotonic()
        with self._lock:
            budget = self._bucket(provider, "tpm", now)
            if budget is None or actual == estimated:
                return
            if actual > estimated:
                budget.reserve(actual - estimated, now)
            else:
                budget.give_back(estimated - actual, now)
