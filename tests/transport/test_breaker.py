"""The per-host circuit breaker: closed, open, half-open, and back."""

from __future__ import annotations

import asyncio
import threading

import pytest

from fluent_ai.errors import CircuitOpenError, ProviderError
from fluent_ai.transport.breaker import BreakerRegistry, CircuitBreaker

RESET = 0.1  # short enough to wait for, long enough not to expire mid-assertion


async def wait_for_reset() -> None:
    await asyncio.sleep(RESET * 1.5)


def open_breaker(threshold: int = 3) -> CircuitBreaker:
    breaker = CircuitBreaker("api.example.com", failure_threshold=threshold, reset_timeout=RESET)
    for _ in range(threshold):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state == "open"
    return breaker


def test_starts_closed_and_lets_calls_through() -> None:
    breaker = CircuitBreaker("h")
    assert breaker.state == "closed"
    for _ in range(10):
        breaker.before_call()
    assert breaker.state == "closed"


def test_opens_after_threshold_consecutive_failures() -> None:
    breaker = CircuitBreaker("api.example.com", failure_threshold=3, reset_timeout=30.0)
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
        assert breaker.state == "closed"
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError) as caught:
        breaker.before_call("openai")
    error = caught.value
    assert isinstance(error, ProviderError)
    assert error.provider == "openai"
    assert 0.0 < error.retry_after <= 30.0
    assert "api.example.com" in str(error)
    assert "3 consecutive failures" in str(error)


def test_threshold_of_one_opens_on_the_first_failure() -> None:
    open_breaker(threshold=1)


def test_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker("h", failure_threshold=3, reset_timeout=30.0)
    for _ in range(5):
        breaker.record_failure()
        breaker.record_failure()
        breaker.record_success()
    assert breaker.state == "closed"
    breaker.before_call()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed", "only consecutive failures count"
    breaker.record_failure()
    assert breaker.state == "open"


async def test_open_circuit_keeps_failing_fast_until_reset_timeout() -> None:
    breaker = open_breaker()
    for _ in range(3):
        with pytest.raises(CircuitOpenError) as caught:
            breaker.before_call()
        assert 0.0 <= caught.value.retry_after <= RESET
    await wait_for_reset()
    assert breaker.state == "half-open"
    breaker.before_call()


async def test_half_open_lets_exactly_one_trial_through() -> None:
    breaker = open_breaker()
    await wait_for_reset()
    breaker.before_call()
    for _ in range(3):
        with pytest.raises(CircuitOpenError) as caught:
            breaker.before_call()
        assert caught.value.retry_after == 0.0
    assert breaker.state == "half-open"


async def test_half_open_trial_is_exclusive_across_threads() -> None:
    breaker = open_breaker()
    await wait_for_reset()
    barrier = threading.Barrier(16)
    admitted: list[bool] = []

    def call() -> None:
        barrier.wait()
        try:
            breaker.before_call()
        except CircuitOpenError:
            admitted.append(False)
        else:
            admitted.append(True)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()

    def join_all() -> None:
        for thread in threads:
            thread.join()

    await asyncio.to_thread(join_all)
    assert sorted(admitted) == [False] * 15 + [True]


async def test_trial_failure_reopens_the_circuit() -> None:
    breaker = open_breaker()
    await wait_for_reset()
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError) as caught:
        breaker.before_call()
    assert caught.value.retry_after > 0.0, "a fresh reset timeout started"
    await wait_for_reset()
    breaker.before_call()  # and another trial after it


async def test_trial_failure_reopens_even_with_a_high_threshold() -> None:
    breaker = open_breaker(threshold=3)
    breaker.record_success()  # closes it and resets the count
    for _ in range(3):
        breaker.record_failure()
    await wait_for_reset()
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "open"


async def test_trial_success_closes_the_circuit() -> None:
    breaker = open_breaker(threshold=3)
    await wait_for_reset()
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"
    for _ in range(5):
        breaker.before_call()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed", "the failure count started again from zero"


async def test_released_trial_lets_another_trial_through() -> None:
    breaker = open_breaker()
    await wait_for_reset()
    breaker.before_call()
    with pytest.raises(CircuitOpenError):
        breaker.before_call()
    breaker.release_trial()
    assert breaker.state == "half-open"
    breaker.before_call()
    with pytest.raises(CircuitOpenError):
        breaker.before_call()


def test_registry_gives_one_breaker_per_host() -> None:
    registry = BreakerRegistry(failure_threshold=2, reset_timeout=RESET)
    first = registry.get("a.example:443")
    assert registry.get("a.example:443") is first
    other = registry.get("b.example:443")
    assert other is not first
    assert (first.host, first.failure_threshold, first.reset_timeout) == (
        "a.example:443",
        2,
        RESET,
    )
    first.record_failure()
    first.record_failure()
    assert first.state == "open"
    assert other.state == "closed", "hosts do not share state"
    other.before_call()


def test_registry_reset_forgets_every_host() -> None:
    registry = BreakerRegistry(failure_threshold=1)
    old = registry.get("a.example")
    old.record_failure()
    assert registry.get("a.example").state == "open"
    registry.reset()
    fresh = registry.get("a.example")
    assert fresh is not old
    assert fresh.state == "closed"
    fresh.before_call()


def test_registry_is_safe_across_threads() -> None:
    registry = BreakerRegistry()
    found: list[CircuitBreaker] = []
    barrier = threading.Barrier(8)

    def get() -> None:
        barrier.wait()
        found.append(registry.get("h"))

    threads = [threading.Thread(target=get) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(b) for b in found}) == 1
