"""The in-process rate limiter on a clock that moves only when the test says so.

Exact times make exact assertions: every ``retry_after`` below is the moment the oldest
entry that must leave the window does leave it. A property test checks the limiter
against a reference model (the list of admitted requests) over random schedules.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluent_ai.auth.principal import Principal
from fluent_ai.config import ServerSettings, Settings
from fluent_ai.server.ratelimit import (
    InProcessLimiter,
    LimiterUnavailableError,
    LimitExceededError,
    TrackedAdmission,
    build_limiter,
)
from fluent_ai.server.ratelimit_redis import RedisLimiter
from fluent_ai.server.state import Admission


class Clock:
    """Monotonic seconds that advance only through :meth:`advance`."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def key(name: str = "ci", *, rpm: int | None = None, tpm: int | None = None) -> Principal:
    return Principal(name, frozenset({"chat"}), "key", rpm=rpm, tpm=tpm)


def limiter(rpm: int | None = None, tpm: int | None = None) -> tuple[InProcessLimiter, Clock]:
    clock = Clock()
    return InProcessLimiter(rpm, tpm, clock=clock), clock


async def refused(limits: InProcessLimiter, who: Principal, tokens: int = 0) -> LimitExceededError:
    with pytest.raises(LimitExceededError) as caught:
        await limits.admit(who, tokens)
    return caught.value


async def test_no_limit_anywhere_admits_everything_untracked() -> None:
    limits, _ = limiter()
    for _ in range(1000):
        admission = await limits.admit(key(), 10**9)
    assert admission == Admission("key:ci", 0, None)
    await limits.settle(admission, 10**9)  # nothing reserved, nothing to correct


async def test_rpm_refuses_the_request_past_the_limit_with_exact_retry_after() -> None:
    limits, clock = limiter(rpm=3)
    for _ in range(3):
        await limits.admit(key())
        clock.advance(10)
    error = await refused(limits, key())
    # the first request (t=0) leaves the window at t=60; it is now t=30
    assert error.retry_after == 30
    assert error.limit == "rpm"
    assert error.key == "key:ci"
    assert error.retryable
    assert error.code == "rate_limit_exceeded"
    assert str(error) == "rate limit exceeded for key 'ci': 3 requests per minute; retry in 30 s"


async def test_window_slides_one_request_at_a_time() -> None:
    limits, clock = limiter(rpm=2)
    await limits.admit(key())  # t=0
    clock.advance(20)
    await limits.admit(key())  # t=20
    clock.advance(39.5)
    assert (await refused(limits, key())).retry_after == pytest.approx(0.5)
    clock.advance(0.5)  # t=60: the first entry leaves
    await limits.admit(key())
    assert (await refused(limits, key())).retry_after == 20  # the t=20 one leaves at 80


async def test_refused_requests_do_not_count() -> None:
    limits, clock = limiter(rpm=1)
    await limits.admit(key())
    for _ in range(50):
        clock.advance(1)
        await refused(limits, key())
    clock.advance(10)  # t=60
    await limits.admit(key())


async def test_each_caller_has_its_own_budget_and_its_own_limits() -> None:
    limits, _ = limiter(rpm=1)
    await limits.admit(key("a"))
    await limits.admit(key("b"))
    await refused(limits, key("a"))
    vip = key("vip", rpm=3)
    for _ in range(3):
        await limits.admit(vip)
    assert (await refused(limits, vip)).limit == "rpm"
    jwt = Principal("alice", frozenset({"chat"}), "jwt")
    await limits.admit(jwt)
    assert "token subject 'alice'" in str(await refused(limits, jwt))


async def test_a_callers_own_limit_applies_without_a_server_default() -> None:
    limits, _ = limiter()
    await limits.admit(key(tpm=10), 10)
    error = await refused(limits, key(tpm=10), 1)
    assert error.limit == "tpm"


async def test_tpm_reserves_the_estimate_and_settle_replaces_it() -> None:
    limits, clock = limiter(tpm=100)
    first = await limits.admit(key(), 60)
    assert isinstance(first, TrackedAdmission)
    assert (first.reserved_tokens, first.tpm) == (60, 100)
    clock.advance(5)
    error = await refused(limits, key(), 50)
    assert (error.limit, error.retry_after) == ("tpm", 55)
    assert str(error) == "rate limit exceeded for key 'ci': 100 tokens per minute; retry in 55 s"
    await limits.settle(first, 20)  # it used less than estimated: 80 tokens free
    second = await limits.admit(key(), 50)
    await limits.settle(second, 75)  # and this one more: 20 + 75 = 95 used
    await refused(limits, key(), 6)
    await limits.admit(key(), 5)


async def test_tpm_retry_after_waits_for_enough_tokens_to_leave() -> None:
    limits, clock = limiter(tpm=100)
    for _ in range(3):  # 30 tokens at t=0, t=10, t=20
        await limits.admit(key(), 30)
        clock.advance(10)
    # t=30, 90 used, 50 wanted: 40 must leave, i.e. the entries of t=0 and t=10
    assert (await refused(limits, key(), 50)).retry_after == 10 + 60 - 30
    assert (await refused(limits, key(), 20)).retry_after == 0 + 60 - 30
    await limits.admit(key(), 10)


async def test_the_limit_that_keeps_the_request_out_longest_is_reported() -> None:
    limits, clock = limiter(rpm=2, tpm=100)
    await limits.admit(key(), 90)  # t=0
    clock.advance(30)
    await limits.admit(key(), 0)  # t=30
    clock.advance(10)
    error = await refused(limits, key(), 20)  # rpm frees at 60, tpm too: both 20 s
    assert error.retry_after == 20
    limits2, clock2 = limiter(rpm=2, tpm=100)
    await limits2.admit(key(), 0)  # t=0
    clock2.advance(30)
    await limits2.admit(key(), 90)  # t=30
    error = await refused(limits2, key(), 20)  # rpm frees at 60, tpm at 90
    assert (error.limit, error.retry_after) == ("tpm", 60)


async def test_a_request_larger_than_the_whole_budget_is_not_retryable() -> None:
    limits, _ = limiter(rpm=5, tpm=1000)
    error = await refused(limits, key(), 1001)
    assert not error.retryable
    assert error.code == "request_too_large"
    assert (error.limit, error.retry_after) == ("tpm", 60)
    assert "1001 tokens" in str(error)
    assert "1000 tokens per minute" in str(error)
    for _ in range(5):  # the refusal used none of the budget
        await limits.admit(key(), 200)
    zero = await refused(limits, key(rpm=0))
    assert not zero.retryable
    assert zero.limit == "rpm"


async def test_settle_after_the_window_counts_only_what_the_estimate_missed() -> None:
    limits, clock = limiter(tpm=100)
    long_call = await limits.admit(key(), 10)
    clock.advance(90)  # its reservation has left the window
    await limits.settle(long_call, 70)  # 60 more than reserved: counted now
    await limits.admit(key(), 40)
    await refused(limits, key(), 1)
    clock.advance(60)
    over = await limits.admit(key(), 100)
    clock.advance(61)
    await limits.settle(over, 5)  # an over-estimate after the window: nothing to refund
    await limits.admit(key(), 100)
    await refused(limits, key(), 1)


async def test_settle_checks_its_arguments() -> None:
    limits, _ = limiter(tpm=100)
    with pytest.raises(TypeError, match="admit"):
        await limits.settle(Admission("key:ci", 10, 100), 5)
    admission = await limits.admit(key(), 10)
    with pytest.raises(ValueError, match="used_tokens"):
        await limits.settle(admission, -1)
    with pytest.raises(ValueError, match="estimated_tokens"):
        await limits.admit(key(), -1)
    with pytest.raises(ValueError, match="default_rpm"):
        InProcessLimiter(0, None)
    with pytest.raises(ValueError, match="window"):
        InProcessLimiter(1, None, window=0)


async def test_concurrent_requests_never_pass_the_limit() -> None:
    limits, _ = limiter(rpm=10)
    results = await asyncio.gather(
        *(limits.admit(key()) for _ in range(50)), return_exceptions=True
    )
    assert sum(isinstance(r, Admission) for r in results) == 10
    assert sum(isinstance(r, LimitExceededError) for r in results) == 40


async def test_idle_callers_are_forgotten() -> None:
    limits, clock = limiter(rpm=5, tpm=500)
    for index in range(100):
        await limits.admit(key(f"k{index}"), 1)
    clock.advance(61)
    await limits.admit(key("active"), 1)
    # only the active caller's windows remain (a private look at the bounded state)
    assert set(limits._requests) == {"key:active"}
    assert set(limits._tokens) == {"key:active"}


async def test_a_closed_limiter_refuses_to_work() -> None:
    limits, _ = limiter(rpm=5)
    await limits.aclose()
    with pytest.raises(LimiterUnavailableError, match="closed"):
        await limits.admit(key())


async def test_build_limiter_chooses_by_redis_url() -> None:
    local = build_limiter(Settings(server=ServerSettings(default_rpm=1)))
    assert isinstance(local, InProcessLimiter)
    await local.admit(key())
    await refused(local, key())
    shared = build_limiter(Settings(redis_url="redis://127.0.0.1:1/0"))
    assert isinstance(shared, RedisLimiter)
    await shared.aclose()


@settings(max_examples=60, deadline=None)
@given(
    rpm=st.integers(1, 6),
    tpm=st.integers(20, 200),
    steps=st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 60), st.integers(0, 60)),
        max_size=40,
    ),
)
def test_matches_a_reference_sliding_window(
    rpm: int, tpm: int, steps: list[tuple[int, int, int]]
) -> None:
    """Admit exactly when the last 60 s leave room; retry_after is exactly when they do."""

    async def run() -> None:
        limits, clock = limiter(rpm=rpm, tpm=tpm)
        admitted: list[tuple[float, TrackedAdmission, int]] = []  # (time, admission, tokens)

        def fits(at: float, tokens: int) -> bool:
            live = [used for when, _, used in admitted if when > at - 60]
            return len(live) + 1 <= rpm and sum(live) + tokens <= tpm

        for wait, estimate, used in steps:
            clock.advance(wait)
            now = clock.now
            if estimate > tpm:
                continue
            try:
                admission = await limits.admit(key(), estimate)
            except LimitExceededError as error:
                retry_after = error.retry_after
            else:
                retry_after = 0.0
            if retry_after:
                assert not fits(now, estimate)
                assert fits(now + retry_after, estimate)
                assert not fits(now + retry_after - 0.001, estimate)
                continue
            assert fits(now, estimate)
            assert isinstance(admission, TrackedAdmission)
            await limits.settle(admission, used)  # settled before the next step
            admitted.append((now, admission, used))

    asyncio.run(run())
