"""Client-side rate limits: token buckets on a fake clock, then the engine with real settings.

The limiter's clock and sleep are replaced in its module only, so the waits it asks for
are recorded exactly and no test sleeps or times anything.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fluent_ai import ScriptedModel
from fluent_ai.engine import Engine, Target, UsageLedger
from fluent_ai.errors import ConfigurationError, RateLimitError
from fluent_ai.runtime import Runtime
from fluent_ai.transport import ratelimit
from fluent_ai.transport.ratelimit import Limits, RateLimiter
from fluent_ai.types import ChatRequest, Done, Message, Role
from tests.fakes.openai_server import FakeOpenAIServer

FOREVER = 3600.0


class Clock:
    """A monotonic clock that only moves when told to, or when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        #: When set: a sleep sets it and waits until cancelled instead of moving the clock.
        self.asleep: asyncio.Event | None = None

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.asleep is not None:
            self.asleep.set()
            await asyncio.get_running_loop().create_future()
        self.now += seconds


class _Patched:
    """A module as the limiter sees it: ``module`` with a few functions replaced."""

    def __init__(self, module: ModuleType, **replaced: Callable[..., Any]) -> None:
        self._module = module
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(ratelimit, "time", _Patched(time, monotonic=clock.monotonic))
    monkeypatch.setattr(ratelimit, "asyncio", _Patched(asyncio, sleep=clock.sleep))
    return clock


async def test_rpm_lets_that_many_through_and_makes_the_next_wait(clock: Clock) -> None:
    limiter = RateLimiter({"p": Limits(rpm=2)})
    await limiter.acquire("p", 0, max_wait=FOREVER)
    await limiter.acquire("p", 0, max_wait=FOREVER)
    assert clock.sleeps == []
    await limiter.acquire("p", 0, max_wait=FOREVER)
    assert clock.sleeps == [pytest.approx(30.0)]  # one request every 60 / 2 seconds
    await limiter.acquire("p", 0, max_wait=FOREVER)
    assert clock.sleeps == [pytest.approx(30.0)] * 2


async def test_the_budget_refills_with_time(clock: Clock) -> None:
    limiter = RateLimiter({"p": Limits(rpm=2)})
    for _ in range(2):
        await limiter.acquire("p", 0, max_wait=0)
    clock.now += 30.0
    await limiter.acquire("p", 0, max_wait=0)
    with pytest.raises(RateLimitError):
        await limiter.acquire("p", 0, max_wait=0)
    assert clock.sleeps == []


async def test_tpm_reserves_the_estimate_and_waits_for_the_rest(clock: Clock) -> None:
    limiter = RateLimiter({"p": Limits(tpm=1000)})
    await limiter.acquire("p", 600, max_wait=FOREVER)
    await limiter.acquire("p", 600, max_wait=FOREVER)
    # 200 tokens short at 1000 / 60 tokens per second.
    assert clock.sleeps == [pytest.approx(12.0)]


async def test_settle_gives_back_an_overestimate(clock: Clock) -> None:
    limiter = RateLimiter({"p": Limits(tpm=1000)})
    await limiter.acquire("p", 600, max_wait=0)
    limiter.settle("p", estimated=600, actual=100)
    await limiter.acquire("p", 900, max_wait=0)
    with pytest.raises(RateLimitError):
        await limiter.acquire("p", 1, max_wait=0)


async def test_settle_charges_an_underestimate(clock: Clock) -> None:
    limiter = RateLimiter({"p": Limits(tpm=1000)})
    await limiter.acquire("p", 100, max_wait=0)
    limiter.settle("p", estimated=100, actual=700)
    with pytest.raises(RateLimitError) as caught:
        await limiter.acquire("p", 400, max_wait=0)
    assert caught.value.retry_after == pytest.approx(6.0)
    await limiter.acquire("p", 300, max_wait=0)


async def test_a_wait_over_max_wait_is_refused_at_once_and_reserves_nothing(
    clock: Clock,
) -> None:
    limiter = RateLimiter({"p": Limits(rpm=1, tpm=1000)})
    await limiter.acquire("p", 10, max_wait=0)
    with pytest.raises(RateLimitError) as caught:
        await limiter.acquire("p", 10, max_wait=1.0)
    error = caught.value
    assert error.retry_after == pytest.approx(60.0)
    assert (error.provider, error.status, error.code) == ("p", None, "client_rate_limit")
    assert "rate_limits.p" in str(error)
    assert clock.sleeps == []
    clock.now += 60.0
    await limiter.acquire("p", 990, max_wait=0)  # the refused call took neither budget


async def test_a_refused_oversized_request_gives_back_only_what_it_took(clock: Clock) -> None:
    limiter = RateLimiter({"p": Limits(tpm=1000)})
    await limiter.acquire("p", 500, max_wait=0)
    with pytest.raises(RateLimitError):
        await limiter.acquire("p", 5000, max_wait=0.01)
    with pytest.raises(RateLimitError):
        await limiter.acquire("p", 600, max_wait=0)  # only 500 are left


async def test_a_cancelled_wait_gives_its_slot_back(clock: Clock) -> None:
    limiter = RateLimiter({"p": Limits(rpm=1)})
    await limiter.acquire("p", 0, max_wait=0)
    clock.asleep = asyncio.Event()
    waiting = asyncio.create_task(limiter.acquire("p", 0, max_wait=FOREVER))
    await clock.asleep.wait()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    clock.now += 60.0
    await limiter.acquire("p", 0, max_wait=0)  # the cancelled caller sent nothing


def test_concurrent_threads_share_one_budget_exactly(clock: Clock) -> None:
    limiter = RateLimiter({"p": Limits(rpm=200)})
    errors: list[BaseException] = []

    async def take(count: int) -> None:
        for _ in range(count):
            await limiter.acquire("p", 0, max_wait=0)

    def worker() -> None:
        try:
            asyncio.run(take(25))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with pytest.raises(RateLimitError) as caught:
        asyncio.run(take(1))
    assert caught.value.retry_after == pytest.approx(0.3)


async def test_providers_without_limits_are_untouched(clock: Clock) -> None:
    limiter = RateLimiter({"openai": Limits(rpm=1)})
    for _ in range(100):
        await limiter.acquire("anthropic", 1_000_000, max_wait=0)
    limiter.settle("anthropic", 10, 1_000_000)
    assert clock.sleeps == []
    assert bool(limiter)
    assert not RateLimiter()
    assert not RateLimiter({"openai": Limits()})


# -- the engine, with limits from the settings ---------------------------------------------

REQUEST = ChatRequest("gpt-4o-mini", (Message(Role.USER, "hi"),))


def limit_openai(source: str, monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """``rpm = 1`` for openai, from the environment or from the config file."""
    if source == "env":
        monkeypatch.setenv("FLUENT_AI_RATE_LIMITS", '{"openai": {"rpm": 1, "tpm": 50000}}')
        return
    home.mkdir(parents=True, exist_ok=True)
    text = "[rate_limits.openai]\nrpm = 1\ntpm = 50000\n"
    (home / "config.toml").write_text(text, "utf-8")


@pytest.mark.parametrize("source", ["env", "config.toml"])
async def test_engine_refuses_a_call_over_the_configured_rpm(
    openai_env: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    isolated_env: Path,
    source: str,
) -> None:
    limit_openai(source, monkeypatch, isolated_env)
    runtime = Runtime()
    assert runtime.settings.rate_limits["openai"].rpm == 1
    assert runtime.settings.rate_limits["openai"].tpm == 50000
    engine = Engine(UsageLedger(), runtime.engine.limiter, max_rate_wait=0.01)
    target: Target = runtime.resolve("openai:gpt-4o-mini")
    chunks = [c async for c in engine.run([target], REQUEST)]
    assert isinstance(chunks[-1], Done)
    with pytest.raises(RateLimitError) as caught:
        async for _ in engine.run([target], REQUEST):
            pass
    assert caught.value.code == "client_rate_limit"
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 50
    assert len(openai_env.chat_requests) == 1


async def test_a_client_side_limit_moves_a_chain_to_its_next_model(
    openai_env: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    limit_openai("env", monkeypatch, isolated_env)
    runtime = Runtime()
    engine = Engine(UsageLedger(), runtime.engine.limiter, max_rate_wait=0.01)
    chain = [runtime.resolve("openai:gpt-4o-mini"), Target(ScriptedModel("spare"), "scripted")]
    answered = []
    for _ in range(2):
        chunks = [c async for c in engine.run(chain, REQUEST)]
        assert isinstance(chunks[-1], Done)
        answered.append(chunks[-1].model)
    assert answered == ["openai:gpt-4o-mini", "scripted:scripted"]
    assert len(openai_env.chat_requests) == 1


def test_a_zero_rate_limit_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENT_AI_RATE_LIMITS", '{"openai": {"rpm": 0}}')
    with pytest.raises(ConfigurationError, match="rate_limits"):
        Runtime()
