"""The Redis rate limiter against the real Redis on 127.0.0.1:6379.

Two :class:`RedisLimiter` instances with one prefix stand for two server replicas. Every
test uses a prefix of its own and deletes its keys afterwards; the module is skipped when
no Redis answers. Redis's own clock decides the window, so the one test that watches it
slide uses a one-second window rather than sleeping for a minute.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
import redis
import redis.asyncio

from fluent_ai.auth.principal import Principal
from fluent_ai.errors import ConfigurationError
from fluent_ai.server.ratelimit import (
    LimiterUnavailableError,
    LimitExceededError,
    TrackedAdmission,
)
from fluent_ai.server.ratelimit_redis import RedisLimiter
from fluent_ai.server.state import Admission

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    name = f"fluent-ai-test:{uuid.uuid4().hex}:rl:"
    yield name
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{name}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Replicas:
    """Limiters sharing one Redis and prefix, closed at the end of the test."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self.made: list[RedisLimiter] = []

    def __call__(
        self, rpm: int | None = None, tpm: int | None = None, window: float = 60.0
    ) -> RedisLimiter:
        limiter = RedisLimiter(self.url, rpm, tpm, self.prefix, window=window)
        self.made.append(limiter)
        return limiter


@pytest.fixture
async def replicas(redis_url: str, prefix: str) -> AsyncIterator[Replicas]:
    made = Replicas(redis_url, prefix)
    yield made
    for limiter in made.made:
        await limiter.aclose()


def key(name: str = "ci", *, rpm: int | None = None, tpm: int | None = None) -> Principal:
    return Principal(name, frozenset({"chat"}), "key", rpm=rpm, tpm=tpm)


async def refused(limiter: RedisLimiter, who: Principal, tokens: int = 0) -> LimitExceededError:
    with pytest.raises(LimitExceededError) as caught:
        await limiter.admit(who, tokens)
    return caught.value


async def test_two_replicas_share_one_request_budget(replicas: Replicas) -> None:
    first, second = replicas(rpm=3), replicas(rpm=3)
    await first.admit(key())
    await second.admit(key())
    await first.admit(key())
    for replica in (first, second):
        error = await refused(replica, key())
        assert error.limit == "rpm"
        assert 59 < error.retry_after <= 60
        assert error.key == "key:ci"
        assert "3 requests per minute; retry in 60 s" in str(error)
    await second.admit(key("other"))  # other callers are untouched


async def test_concurrent_requests_on_two_replicas_never_pass_the_limit(
    replicas: Replicas,
) -> None:
    first, second = replicas(rpm=10), replicas(rpm=10)
    results = await asyncio.gather(
        *(replica.admit(key()) for _ in range(20) for replica in (first, second)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Admission) for r in results) == 10
    assert sum(isinstance(r, LimitExceededError) for r in results) == 30


async def test_tokens_are_reserved_and_settled_across_replicas(replicas: Replicas) -> None:
    first, second = replicas(tpm=100), replicas(tpm=100)
    admission = await first.admit(key(), 60)
    assert isinstance(admission, TrackedAdmission)
    assert (admission.reserved_tokens, admission.tpm) == (60, 100)
    error = await refused(second, key(), 50)
    assert error.limit == "tpm"
    assert 59 < error.retry_after <= 60
    await second.settle(admission, 20)  # settled on the other replica: 80 tokens free
    more = await second.admit(key(), 50)
    await first.settle(more, 80)  # 20 + 80 = 100 used
    await refused(first, key(), 1)
    await second.admit(key(rpm=1), 0)  # a request with no tokens still fits


async def test_a_request_larger_than_the_budget_is_refused_without_asking_redis(
    closed_port: int,
) -> None:
    limiter = RedisLimiter(f"redis://127.0.0.1:{closed_port}/0", None, 100)
    try:
        error = await refused(limiter, key(), 101)
        assert not error.retryable
        # no limit at all: admitted on the fast path, Redis never asked
        unlimited = RedisLimiter(f"redis://127.0.0.1:{closed_port}/0")
        assert await unlimited.admit(key(), 10**6) == Admission("key:ci", 0, None)
        await unlimited.aclose()
    finally:
        await limiter.aclose()


async def test_the_window_slides_on_redis_time(replicas: Replicas) -> None:
    limiter = replicas(rpm=2, window=1.0)
    await limiter.admit(key())
    await asyncio.sleep(0.5)
    await limiter.admit(key())
    error = await refused(limiter, key())
    assert 0 < error.retry_after < 0.6  # when the first request leaves the window
    await asyncio.sleep(error.retry_after + 0.01)
    await limiter.admit(key())
    await refused(limiter, key())  # the second one is still inside it


async def test_settle_after_the_window_counts_what_the_estimate_missed(
    replicas: Replicas,
) -> None:
    limiter = replicas(tpm=100, window=0.3)
    long_call = await limiter.admit(key(), 10)
    await asyncio.sleep(0.35)  # its reservation has left the window
    await limiter.settle(long_call, 70)
    await limiter.admit(key(), 40)
    await refused(limiter, key(), 1)


async def test_keys_expire_and_scripts_are_cached(
    replicas: Replicas, redis_url: str, prefix: str
) -> None:
    limiter = replicas(rpm=5, tpm=500)
    await limiter.admit(key(), 10)
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        keys = sorted([k.decode() async for k in client.scan_iter(match=f"{prefix}*")])
        assert keys == [f"{prefix}{{key:ci}}:{name}" for name in ("rpm", "tpm", "tpm-tokens")]
        for name in keys:
            assert 0 < await client.pttl(name) <= 61_000
        shas = [limiter._admit_script.sha, limiter._settle_script.sha]
        await limiter.settle(await limiter.admit(key(), 10), 5)
        assert await client.script_exists(*shas) == [True, True]
    finally:
        await client.aclose()


async def test_redis_down_fails_closed_without_leaking_the_password(closed_port: int) -> None:
    limiter = RedisLimiter(f"redis://:s3cret-pw@127.0.0.1:{closed_port}/0", 10, 1000)
    try:
        with pytest.raises(LimiterUnavailableError) as caught:
            await limiter.admit(key(), 5)
        assert "s3cret-pw" not in str(caught.value)
        assert f"127.0.0.1:{closed_port}" in str(caught.value)
        assert caught.value.code == "rate_limiter_unavailable"
        ticket = TrackedAdmission("key:ci", 5, 1000, entry="e1")
        with pytest.raises(LimiterUnavailableError):
            await limiter.settle(ticket, 50)
    finally:
        await limiter.aclose()


async def test_a_closed_limiter_and_a_bad_url_are_clear_errors(replicas: Replicas) -> None:
    limiter = replicas(rpm=5)
    await limiter.aclose()
    with pytest.raises(LimiterUnavailableError, match="closed"):
        await limiter.admit(key())
    with pytest.raises(ConfigurationError, match="invalid Redis URL") as caught:
        RedisLimiter("http://user:s3cret-pw@127.0.0.1:6379/0", 5)
    assert "s3cret-pw" not in str(caught.value)
