"""HttpTransport.request_json against the fake OpenAI server: retries, errors, limits."""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

from fluent_ai.errors import (
    AuthenticationError,
    ContextLengthError,
    MalformedResponseError,
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderError,
    RateLimitError,
    RequestTimeoutError,
)
from fluent_ai.transport import RetryPolicy, Timeouts
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer
from tests.transport.conftest import (
    CHAT,
    FAST_RETRY,
    TIMEOUTS,
    MakeTransport,
    RunRawServer,
    closed_port,
    raw_response,
)

PATH = "/chat/completions"
NO_RETRY = RetryPolicy(max_retries=0, base_delay=0.01)
SHORT_READ = Timeouts(connect=2.0, read=0.25, write=2.0, pool=2.0)


def rate_limited(retry_after: str) -> Behaviour:
    return Behaviour.error(429, "Rate limit reached", headers={"Retry-After": retry_after})


async def test_request_json_success(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour(text="Hi there."))
    data = await make_transport().request_json("POST", PATH, CHAT)
    assert data["choices"][0]["message"]["content"] == "Hi there."
    [sent] = fake_openai.requests
    assert (sent.method, sent.path, sent.body) == ("POST", "/v1/chat/completions", CHAT)
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.headers["user-agent"].startswith("fluent-ai/")


async def test_get_request(fake_openai: FakeOpenAIServer, make_transport: MakeTransport) -> None:
    data = await make_transport().request_json("GET", "/models")
    assert data["data"][0]["id"] == "gpt-4o-mini"
    assert fake_openai.requests[0].method == "GET"


async def test_rate_limit_with_retry_after_is_honoured(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(rate_limited("1"), rate_limited("1"))
    start = time.monotonic()
    data = await make_transport().request_json("POST", PATH, CHAT)
    assert data["object"] == "chat.completion"
    assert len(fake_openai.chat_requests) == 3
    assert time.monotonic() - start >= 1.9, "waited the second the server asked for, twice"


async def test_retry_after_as_http_date(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    when = email.utils.formatdate(time.time() + 1.5, usegmt=True)  # 0.5 to 1.5 s away
    fake_openai.queue(rate_limited(when))
    start = time.monotonic()
    await make_transport().request_json("POST", PATH, CHAT)
    assert len(fake_openai.chat_requests) == 2
    assert time.monotonic() - start >= 0.4


async def test_retry_after_http_date_beyond_the_cap_is_not_waited_for(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(rate_limited(email.utils.formatdate(time.time() + 3600, usegmt=True)))
    with pytest.raises(RateLimitError) as caught:
        await make_transport().request_json("POST", PATH, CHAT)
    assert caught.value.retry_after is not None
    assert 3500 < caught.value.retry_after <= 3600
    assert len(fake_openai.chat_requests) == 1


async def test_retry_after_ms_header_wins(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    # Were "retry-after: 30" used, it would exceed max_retry_after (5 s): no retry at all.
    headers = {"retry-after-ms": "300", "retry-after": "30"}
    fake_openai.queue(Behaviour.error(429, "slow down", headers=headers))
    start = time.monotonic()
    await make_transport().request_json("POST", PATH, CHAT)
    assert len(fake_openai.chat_requests) == 2
    assert time.monotonic() - start >= 0.25


async def test_server_error_gives_up_after_max_retries(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.default = Behaviour.error(500, "The server had an error")
    with pytest.raises(ProviderError) as caught:
        await make_transport().request_json("POST", PATH, CHAT)
    assert type(caught.value) is ProviderError
    assert caught.value.status == 500
    assert "The server had an error" in str(caught.value)
    assert "gave up after 3 attempts" in str(caught.value)
    assert len(fake_openai.chat_requests) == FAST_RETRY.max_retries + 1


async def test_server_error_then_success(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour.error(503, "overloaded"), Behaviour.error(502, "bad gateway"))
    data = await make_transport().request_json("POST", PATH, CHAT)
    assert data["choices"][0]["message"]["content"]
    assert len(fake_openai.chat_requests) == 3


async def test_bad_key_is_not_retried(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await make_transport(key="sk-wrong").request_json("POST", PATH, CHAT)
    assert caught.value.status == 401
    assert "Incorrect API key" in str(caught.value)
    assert "gave up" not in str(caught.value)
    assert len(fake_openai.chat_requests) == 1


@pytest.mark.parametrize(
    ("behaviour", "error_type"),
    [
        (Behaviour.error(404, "The model `gpt-9` does not exist"), ModelNotFoundError),
        (Behaviour.error(400, "Too long.", code="context_length_exceeded"), ContextLengthError),
        (Behaviour.error(429, "Quota", code="insufficient_quota"), RateLimitError),
    ],
)
async def test_client_errors_are_typed_and_not_retried(
    fake_openai: FakeOpenAIServer,
    make_transport: MakeTransport,
    behaviour: Behaviour,
    error_type: type[ProviderError],
) -> None:
    fake_openai.queue(behaviour)
    with pytest.raises(error_type) as caught:
        await make_transport().request_json("POST", PATH, CHAT)
    assert caught.value.status == behaviour.status
    assert len(fake_openai.chat_requests) == 1


async def test_connection_refused_is_retried_then_raised(make_transport: MakeTransport) -> None:
    transport = make_transport(base_url=f"http://127.0.0.1:{closed_port()}/v1")
    with pytest.raises(ProviderConnectionError) as caught:
        await transport.request_json("POST", PATH, CHAT)
    assert "cannot reach" in str(caught.value)
    assert "gave up after 3 attempts" in str(caught.value)


async def test_slow_first_byte_beyond_read_timeout(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.default = Behaviour(delay_headers=1.0)
    retry = RetryPolicy(max_retries=1, base_delay=0.01)
    with pytest.raises(RequestTimeoutError) as caught:
        await make_transport(timeouts=SHORT_READ, retry=retry).request_json("POST", PATH, CHAT)
    assert "read timeout" in str(caught.value)
    assert "gave up after 2 attempts" in str(caught.value)
    assert len(fake_openai.chat_requests) == 2


async def test_slow_first_byte_is_retried(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour(delay_headers=1.0, text="slow"), Behaviour(text="fast"))
    data = await make_transport(timeouts=SHORT_READ).request_json("POST", PATH, CHAT)
    assert data["choices"][0]["message"]["content"] == "fast"
    assert len(fake_openai.chat_requests) == 2


async def test_slow_first_byte_within_read_timeout(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour(delay_headers=0.1, text="in time"))
    timeouts = Timeouts(connect=2.0, read=2.0, write=2.0, pool=2.0)
    data = await make_transport(timeouts=timeouts).request_json("POST", PATH, CHAT)
    assert data["choices"][0]["message"]["content"] == "in time"
    assert len(fake_openai.chat_requests) == 1


async def test_deadline_shorter_than_retry_after_stops_retrying(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(rate_limited("2"))
    retry = RetryPolicy(max_retries=5, base_delay=0.01, max_retry_after=60.0, deadline=1.0)
    with pytest.raises(RateLimitError) as caught:
        await make_transport(retry=retry).request_json("POST", PATH, CHAT)
    assert caught.value.retry_after == 2.0
    assert len(fake_openai.chat_requests) == 1


async def test_deadline_bounds_a_slow_attempt(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour(delay_headers=1.5))
    retry = RetryPolicy(max_retries=5, base_delay=0.01, deadline=0.3)
    with pytest.raises(RequestTimeoutError) as caught:
        await make_transport(retry=retry).request_json("POST", PATH, CHAT)
    assert "total deadline of 0.3s" in str(caught.value)
    assert len(fake_openai.chat_requests) == 1


async def test_retry_after_beyond_max_retry_after_fails_at_once(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(rate_limited("120"))
    with pytest.raises(RateLimitError) as caught:
        await make_transport().request_json("POST", PATH, CHAT)  # max_retry_after is 5 s
    assert caught.value.retry_after == 120.0
    assert "gave up" not in str(caught.value)
    assert len(fake_openai.chat_requests) == 1


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"\xff\xfe upstream \xc3 broke \x80"),
        ("text/html; charset=bogus-charset", b"<h1>\xff\xff</h1>"),
        ("application/json", b'{"error": {"message": "caf\xe9"}}'),
    ],
)
async def test_non_utf8_error_body_does_not_crash(
    make_transport: MakeTransport, raw_server: RunRawServer, content_type: str, body: bytes
) -> None:
    answer = raw_response("500 Internal Server Error", content_type, body)
    async with raw_server(answer) as server:
        transport = make_transport(base_url=server.base_url, retry=NO_RETRY)
        with pytest.raises(ProviderError) as caught:
            await transport.request_json("POST", PATH, CHAT)
    assert type(caught.value) is ProviderError
    assert caught.value.status == 500
    assert "\ufffd" in caught.value.body
    assert server.requests == 1


async def test_success_that_is_not_json(
    make_transport: MakeTransport, raw_server: RunRawServer
) -> None:
    answer = raw_response("200 OK", "text/html", b"<html>captive portal</html>")
    async with raw_server(answer) as server:
        with pytest.raises(MalformedResponseError) as caught:
            await make_transport(base_url=server.base_url).request_json("POST", PATH, CHAT)
    assert caught.value.status == 200
    assert "captive portal" in str(caught.value)
    assert server.requests == 1


@pytest.mark.parametrize(("limit", "seen_at_first_answer"), [(1, 1), (2, 2)])
async def test_concurrency_limit_serialises_requests(
    fake_openai: FakeOpenAIServer,
    make_transport: MakeTransport,
    limit: int,
    seen_at_first_answer: int,
) -> None:
    fake_openai.default = Behaviour(delay_headers=0.3)
    transport = make_transport(max_concurrency=limit, timeouts=TIMEOUTS)
    seen: list[int] = []

    async def call() -> None:
        await transport.request_json("POST", PATH, CHAT)
        seen.append(len(fake_openai.chat_requests))  # no await between answer and this

    await asyncio.gather(call(), call())
    # With one slot the second request reaches the server only after the first answer.
    assert seen == [seen_at_first_answer, 2]


async def test_quota_exhaustion_is_not_retried_even_with_a_long_message(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    long_message = "You exceeded your current quota. " + "Please check your plan. " * 40
    fake_openai.default = Behaviour.error(429, long_message, code="insufficient_quota")
    transport = make_transport()
    with pytest.raises(RateLimitError) as caught:
        await transport.request_json("POST", PATH, CHAT)
    assert caught.value.code == "insufficient_quota"
    assert len(fake_openai.chat_requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_retry_after_on_a_server_error_is_honoured(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport, status: int
) -> None:
    fake_openai.queue(Behaviour.error(status, "overloaded", headers={"Retry-After": "1"}))
    start = time.monotonic()
    data = await make_transport().request_json("POST", PATH, CHAT)
    assert data["object"] == "chat.completion"
    assert time.monotonic() - start >= 0.9, "waited the second the server asked for"
    assert len(fake_openai.chat_requests) == 2


async def test_retry_after_on_a_503_beyond_the_cap_fails_at_once(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour.error(503, "maintenance", headers={"Retry-After": "120"}))
    with pytest.raises(ProviderError) as caught:
        await make_transport().request_json("POST", PATH, CHAT)  # max_retry_after is 5 s
    assert caught.value.status == 503
    assert caught.value.retry_after == 120.0
    assert len(fake_openai.chat_requests) == 1


async def test_retry_after_on_a_503_is_bounded_by_the_deadline(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour.error(503, "busy", headers={"Retry-After": "2"}))
    retry = RetryPolicy(max_retries=5, base_delay=0.01, max_retry_after=60.0, deadline=1.0)
    start = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        await make_transport(retry=retry).request_json("POST", PATH, CHAT)
    assert time.monotonic() - start < 0.9
    assert caught.value.retry_after == 2.0
    assert len(fake_openai.chat_requests) == 1


async def test_deadline_bounds_the_wait_for_a_concurrency_slot(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour(delay_headers=1.5))
    retry = RetryPolicy(max_retries=3, base_delay=0.01, deadline=0.4)
    transport = make_transport(max_concurrency=1, retry=retry, timeouts=TIMEOUTS)
    holder = asyncio.ensure_future(
        make_transport(max_concurrency=1).request_json("POST", PATH, CHAT)
    )
    await asyncio.sleep(0.2)  # the first request holds the only slot
    start = time.monotonic()
    with pytest.raises(RequestTimeoutError) as caught:
        await transport.request_json("POST", PATH, CHAT)
    assert time.monotonic() - start < 0.8
    assert "total deadline" in str(caught.value)
    await holder
    assert len(fake_openai.chat_requests) == 1
