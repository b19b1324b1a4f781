"""HttpTransport and its circuit breaker: which answers open it, and what it spares."""

from __future__ import annotations

import asyncio

import pytest

from fluent_ai.errors import CircuitOpenError, ProviderError
from fluent_ai.transport import BreakerRegistry, RetryPolicy
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer
from tests.transport.conftest import CHAT, MakeTransport

PATH = "/chat/completions"
NO_RETRY = RetryPolicy(max_retries=0, base_delay=0.01)


async def test_breaker_opens_across_calls_and_fails_fast(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.default = Behaviour.error(500)
    transport = make_transport(retry=NO_RETRY, breakers=BreakerRegistry(failure_threshold=2))
    for _ in range(2):
        with pytest.raises(ProviderError) as caught:
            await transport.request_json("POST", PATH, CHAT)
        assert caught.value.status == 500
    with pytest.raises(CircuitOpenError) as opened:
        await transport.request_json("POST", PATH, CHAT)
    assert opened.value.retry_after > 0
    assert len(fake_openai.chat_requests) == 2, "the open circuit spared the server"


async def test_breaker_stops_retries_within_one_call(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.default = Behaviour.error(500)
    retry = RetryPolicy(max_retries=5, base_delay=0.01)
    transport = make_transport(retry=retry, breakers=BreakerRegistry(failure_threshold=2))
    with pytest.raises(CircuitOpenError):
        await transport.request_json("POST", PATH, CHAT)
    assert len(fake_openai.chat_requests) == 2


async def test_breaker_half_open_trial_success_closes_it(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    registry = BreakerRegistry(failure_threshold=1, reset_timeout=0.1)
    transport = make_transport(retry=NO_RETRY, breakers=registry)
    fake_openai.queue(Behaviour.error(500))
    with pytest.raises(ProviderError):
        await transport.request_json("POST", PATH, CHAT)
    with pytest.raises(CircuitOpenError):
        await transport.request_json("POST", PATH, CHAT)
    await asyncio.sleep(0.15)
    await transport.request_json("POST", PATH, CHAT)
    await transport.request_json("POST", PATH, CHAT)
    assert len(fake_openai.chat_requests) == 3


@pytest.mark.parametrize(
    "behaviour", [Behaviour.error(401), Behaviour.error(429, headers={"Retry-After": "0"})]
)
async def test_client_errors_and_rate_limits_do_not_open_the_breaker(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport, behaviour: Behaviour
) -> None:
    fake_openai.default = behaviour
    transport = make_transport(retry=NO_RETRY, breakers=BreakerRegistry(failure_threshold=2))
    for _ in range(4):
        with pytest.raises(ProviderError) as caught:
            await transport.request_json("POST", PATH, CHAT)
        assert not isinstance(caught.value, CircuitOpenError)
    assert len(fake_openai.chat_requests) == 4


async def test_a_client_error_answer_resets_the_failure_count(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    transport = make_transport(retry=NO_RETRY, breakers=BreakerRegistry(failure_threshold=2))
    statuses = [500, 404, 500, 400, 500]
    fake_openai.queue(*(Behaviour.error(status) for status in statuses))
    for status in statuses:
        with pytest.raises(ProviderError) as caught:
            await transport.request_json("POST", PATH, CHAT)
        assert caught.value.status == status, "the host answered, so the circuit stayed closed"
    assert len(fake_openai.chat_requests) == len(statuses)
