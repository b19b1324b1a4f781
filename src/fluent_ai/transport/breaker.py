"""A circuit breaker per upstream host.

After ``failure_threshold`` consecutive failures (connection errors, timeouts, 5xx) the
circuit opens and calls fail fast with :class:`CircuitOpenError` for ``reset_timeout``
seconds, sparing a struggling upstream and the caller's retry budget. Then one trial call
is let through (half-open): success closes the circuit, failure opens it again.
State is process-wide (shared by every event loop) and guarded by a lock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from fluent_ai.errors import CircuitOpenError

__all__ = ["BreakerRegistry", "CircuitBreaker"]


@dataclass
class CircuitBreaker:
    """Breaker state for one host."""

    host: str
    failure_threshold: int = 5
    reset_timeout: float = 30.0
    _failures: int = 0
    _opened_at: float | None = None
    _trial_in_flight: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        with self._lock:
            return self._state(time.monotonic())

    def _state(self, now: float) -> str:
        if self._opened_at is None:
            return "closed"
        if now - self._opened_at >= self.reset_timeout:
            return "half-open"
        return "open"

    def before_call(self, provider: str | None = None) -> None:
        """Raise :class:`CircuitOpenError` unless a call may go out now."""
        with self._lock:
            now = time.monotonic()
            state = self._state(now)
            if state == "closed":
                return
            if state == "half-open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return
            opened = self._opened_at if self._opened_at is not None else now
            wait = max(0.0, self.reset_timeout - (now - opened))
        raise CircuitOpenError(
            f"circuit open for {self.host} after {self.failure_threshold} consecutive "
            f"failures; retry in {wait:.0f}s",
            provider=provider,
            retry_after=wait,
        )

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_in_flight or self._failures >= self.failure_threshold:
                self._opened_at = time.monotonic()
            self._trial_in_flight = False

    def release_trial(self) -> None:
        """A trial call ended without a verdict (cancelled, client error): allow another."""
        with self._lock:
            self._trial_in_flight = False


class BreakerRegistry:
    """One breaker per host, created on first use."""

    def __init__(self, failure_threshold: int = 5, reset_timeout: float = 30.0) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def get(self, host: str) -> CircuitBreaker:
        with self._lock:
            breaker = self._breakers.get(host)
            if breaker is None:
                breaker = CircuitBreaker(host, self.failure_threshold, self.reset_timeout)
                self._breakers[host] = breaker
            return breaker

    def reset(self) -> None:
        """Forget every host's state (tests, or after fixing a configuration)."""
        with self._lock:
            self._breakers.clear()
