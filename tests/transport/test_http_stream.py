"""HttpTransport.stream_sse: retried until the first event reaches the caller, never after."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from contextlib import aclosing
from typing import Any

import pytest

from fluent_ai.errors import (
    AuthenticationError,
    MalformedResponseError,
    ProviderError,
    RequestTimeoutError,
    StreamInterruptedError,
)
from fluent_ai.transport import HttpTransport, RetryPolicy, SSEEvent, Timeouts
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer
from tests.transport.conftest import STREAM, MakeTransport, RunRawServer, raw_response

PATH = "/chat/completions"
NO_RETRY = RetryPolicy(max_retries=0, base_delay=0.01)
SHORT_READ = Timeouts(connect=2.0, read=0.3, write=2.0, pool=2.0)


async def collect(transport: HttpTransport) -> list[SSEEvent]:
    return [event async for event in transport.stream_sse(PATH, STREAM)]


async def collect_until_error(
    transport: HttpTransport, error_type: type[Exception]
) -> tuple[list[SSEEvent], Exception]:
    events: list[SSEEvent] = []

    async def drain() -> None:
        async for event in transport.stream_sse(PATH, STREAM):
            events.append(event)

    with pytest.raises(error_type) as caught:
        await drain()
    return events, caught.value


def deltas(events: list[SSEEvent]) -> list[Any]:
    """What the chunks say, without ids and timestamps."""
    out: list[Any] = []
    for event in events:
        if event.data == "[DONE]":
            out.append("[DONE]")
            continue
        choice = json.loads(event.data)["choices"][0]
        out.append((choice["delta"], choice["finish_reason"]))
    return out


def text_of(events: list[SSEEvent]) -> str:
    return "".join(str(d[0].get("content", "")) for d in deltas(events) if d != "[DONE]")


async def test_stream_yields_events(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour(text="one two three"))
    events = await collect(make_transport())
    assert all(e.event == "message" for e in events)
    assert deltas(events) == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "one"}, None),
        ({"content": " two"}, None),
        ({"content": " three"}, None),
        ({}, "stop"),
        "[DONE]",
    ]
    [sent] = fake_openai.chat_requests
    assert sent.body == STREAM
    assert sent.headers["accept"] == "text/event-stream"
    assert sent.headers["authorization"] == "Bearer sk-test"


async def test_crlf_split_writes_and_comments_decode_the_same(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    text = "ünïcödé 😀 split € across writes"
    fake_openai.queue(
        Behaviour(text=text), Behaviour(text=text, crlf=True, split_writes=True, comments=True)
    )
    transport = make_transport()
    plain = await collect(transport)
    awkward = await collect(transport)
    assert text_of(plain) == text
    assert deltas(awkward) == deltas(plain)


@pytest.mark.parametrize(
    "failure",
    [
        Behaviour.error(429, "Rate limit reached", headers={"Retry-After": "0"}),
        Behaviour.error(503, "overloaded"),
        Behaviour(cut_after=-1),  # the connection dies in the middle of the first frame
        Behaviour(stall_after=-1, stall_seconds=1.0),  # headers, then silence
    ],
    ids=["429", "503", "cut-before-first-event", "stall-before-first-event"],
)
async def test_failure_before_the_first_event_is_retried(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport, failure: Behaviour
) -> None:
    fake_openai.queue(failure, Behaviour(text="second try"))
    events = await collect(make_transport(timeouts=SHORT_READ))
    assert text_of(events) == "second try"
    assert len(fake_openai.chat_requests) == 2


async def test_cut_after_first_event_is_not_retried(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour(text="one two three four", cut_after=1))
    events, error = await collect_until_error(make_transport(), StreamInterruptedError)
    assert text_of(events) == "one"
    assert "stream cut" in str(error)
    assert "gave up" not in str(error)
    assert len(fake_openai.chat_requests) == 1, "a replay would repeat text already shown"


async def test_stall_after_first_event_is_interrupted(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour(text="one two three", stall_after=1, stall_seconds=1.5))
    transport = make_transport(timeouts=SHORT_READ)
    events, error = await collect_until_error(transport, StreamInterruptedError)
    assert text_of(events) == "one"
    assert "stalled" in str(error)
    assert "0.3s" in str(error)
    assert len(fake_openai.chat_requests) == 1


async def test_slow_but_steady_stream_is_not_a_stall(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour(text="a b c d", chunk_delay=0.1))
    events = await collect(make_transport(timeouts=SHORT_READ))
    assert text_of(events) == "a b c d"


async def test_json_answer_to_a_stream_request_is_one_json_event(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour(text="whole answer", json_for_stream=True))
    events = await collect(make_transport())
    assert [e.event for e in events] == ["json"]
    answer = json.loads(events[0].data)
    assert answer["choices"][0]["message"]["content"] == "whole answer"
    assert len(fake_openai.chat_requests) == 1


async def test_bad_key_on_a_stream(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    _, error = await collect_until_error(make_transport(key="sk-nope"), AuthenticationError)
    assert isinstance(error, AuthenticationError)
    assert error.status == 401
    assert len(fake_openai.chat_requests) == 1


async def test_server_errors_on_a_stream_give_up_after_max_retries(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.default = Behaviour.error(500, "The server had an error")
    _, error = await collect_until_error(make_transport(), ProviderError)
    assert isinstance(error, ProviderError)
    assert error.status == 500
    assert "gave up after 3 attempts" in str(error)
    assert len(fake_openai.chat_requests) == 3


async def test_non_utf8_error_body_on_a_stream_does_not_crash(
    make_transport: MakeTransport, raw_server: RunRawServer
) -> None:
    answer = raw_response("502 Bad Gateway", "text/html", b"<h1>\xff\xfe gateway \xc3</h1>")
    async with raw_server(answer) as server:
        transport = make_transport(base_url=server.base_url, retry=NO_RETRY)
        _, error = await collect_until_error(transport, ProviderError)
    assert type(error) is ProviderError
    assert error.status == 502
    assert "gateway" in error.body
    assert "\ufffd" in error.body
    assert server.requests == 1


async def test_invalid_utf8_in_the_event_stream_is_malformed(
    make_transport: MakeTransport, raw_server: RunRawServer
) -> None:
    body = b'data: {"ok": true}\n\ndata: caf\xe9\n\n'
    answer = raw_response("200 OK", "text/event-stream", body)
    cut = answer.index(b"data: caf")
    async with raw_server(answer[:cut], answer[cut:]) as server:  # two separate writes
        transport = make_transport(base_url=server.base_url)
        events, _ = await collect_until_error(transport, MalformedResponseError)
    assert [e.data for e in events] == ['{"ok": true}']
    assert server.requests == 1


async def test_invalid_utf8_after_good_events_in_one_write(
    make_transport: MakeTransport, raw_server: RunRawServer
) -> None:
    body = b'data: {"ok": 1}\n\ndata: {"ok": 2}\n\ndata: caf\xe9\n\n'
    async with raw_server(raw_response("200 OK", "text/event-stream", body)) as server:
        transport = make_transport(base_url=server.base_url)
        events, _ = await collect_until_error(transport, MalformedResponseError)
    assert [e.data for e in events] == ['{"ok": 1}', '{"ok": 2}']


async def test_stream_ending_mid_line_is_interrupted(
    make_transport: MakeTransport, raw_server: RunRawServer
) -> None:
    body = b'data: {"n": 1}\n\ndata: {"n": 2'  # a clean end of body, but half an event
    async with raw_server(raw_response("200 OK", "text/event-stream", body)) as server:
        transport = make_transport(base_url=server.base_url)
        events, error = await collect_until_error(transport, StreamInterruptedError)
    assert [e.data for e in events] == ['{"n": 1}']
    assert "middle of an event" in str(error)
    assert server.requests == 1


async def test_last_event_without_blank_line_is_delivered(
    make_transport: MakeTransport, raw_server: RunRawServer
) -> None:
    body = b'data: {"n": 1}\r\n\r\ndata: [DONE]\r\n'
    async with raw_server(raw_response("200 OK", "text/event-stream", body)) as server:
        events = await collect(make_transport(base_url=server.base_url))
    assert [e.data for e in events] == ['{"n": 1}', "[DONE]"]


async def test_closing_the_stream_early_releases_the_connection(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour(text=" ".join(["word"] * 200), chunk_delay=0.01))
    transport = make_transport()
    stream = transport.stream_sse(PATH, STREAM)
    first = await anext(stream)
    assert json.loads(first.data)["choices"][0]["delta"]["role"] == "assistant"
    await stream.aclose()
    events = await collect(transport)  # the transport is still usable afterwards
    assert deltas(events)[-1] == "[DONE]"
    assert len(fake_openai.chat_requests) == 2


async def test_concurrency_limit_covers_whole_streams(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    """A stream holds its provider slot until it is read to the end (or closed)."""
    fake_openai.default = Behaviour(text="a b c d e", chunk_delay=0.05)
    transport = make_transport(max_concurrency=1)
    requests_seen_at_end: list[int] = []

    async def read_one() -> None:
        async for _ in transport.stream_sse(PATH, STREAM):
            pass
        requests_seen_at_end.append(len(fake_openai.chat_requests))

    await asyncio.gather(read_one(), read_one())
    # With one slot the second stream is only sent once the first has been read to its end.
    assert requests_seen_at_end == [1, 2]


async def test_closing_a_stream_early_frees_its_slot(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.default = Behaviour(text=" ".join(["w"] * 100), chunk_delay=0.02)
    transport = make_transport(max_concurrency=1)
    events = transport.stream_sse(PATH, STREAM)
    async for _ in events:
        break
    await events.aclose()
    fake_openai.default = Behaviour(text="second")
    assert text_of(await asyncio.wait_for(collect(transport), 10)) == "second"


async def test_deadline_bounds_the_wait_for_the_first_event(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    """Headers at once, then silence: the total deadline ends it, not the read timeout."""
    fake_openai.default = Behaviour(stall_after=-1, stall_seconds=3.0)
    retry = RetryPolicy(max_retries=3, base_delay=0.01, deadline=0.6)
    transport = make_transport(retry=retry, timeouts=Timeouts(read=2.5))
    start = time.monotonic()
    _, error = await collect_until_error(transport, RequestTimeoutError)
    assert time.monotonic() - start < 1.5
    assert "total deadline of 0.6s" in str(error)
    assert len(fake_openai.chat_requests) == 1


async def test_deadline_bounds_retries_of_silent_streams(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.default = Behaviour(stall_after=-1, stall_seconds=3.0)
    retry = RetryPolicy(max_retries=10, base_delay=0.01, deadline=1.0)
    transport = make_transport(retry=retry, timeouts=Timeouts(read=0.3))
    start = time.monotonic()
    await collect_until_error(transport, RequestTimeoutError)
    assert time.monotonic() - start < 1.8
    assert 2 <= len(fake_openai.chat_requests) <= 4


async def test_deadline_does_not_cut_a_stream_that_keeps_flowing(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour(text="a b c d e f g h", chunk_delay=0.1))
    retry = RetryPolicy(max_retries=0, deadline=0.5)
    events = await collect(make_transport(retry=retry))
    assert text_of(events) == "a b c d e f g h"


async def test_deadline_bounds_the_wait_for_a_concurrency_slot(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.default = Behaviour(text=" ".join(["w"] * 50), chunk_delay=0.05)
    retry = RetryPolicy(max_retries=3, base_delay=0.01, deadline=0.4)
    transport = make_transport(max_concurrency=1, retry=retry)
    async with aclosing(transport.stream_sse(PATH, STREAM)) as holder:
        await anext(holder)  # holds the only slot
        start = time.monotonic()
        _, error = await collect_until_error(transport, RequestTimeoutError)
        assert time.monotonic() - start < 1.0
        assert "total deadline" in str(error)
    assert len(fake_openai.chat_requests) == 1, "the second stream was never sent"


async def test_retry_after_on_a_503_stream_is_honoured(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    fake_openai.queue(Behaviour.error(503, "overloaded", headers={"Retry-After": "1"}))
    start = time.monotonic()
    events = await collect(make_transport())
    assert time.monotonic() - start >= 0.9
    assert deltas(events)[-1] == "[DONE]"
    assert len(fake_openai.chat_requests) == 2


async def test_closing_a_stream_frees_its_slot_at_once(
    fake_openai: FakeOpenAIServer, make_transport: MakeTransport
) -> None:
    """Closing the stream closes the response and frees the slot at once (no GC needed)."""
    fake_openai.default = Behaviour(text=" ".join(["w"] * 100), chunk_delay=0.01)
    transport = make_transport(max_concurrency=1)
    slot = transport._slot()
    async with aclosing(transport.stream_sse(PATH, STREAM)) as events:
        await anext(events)
        assert slot.locked()
    assert not slot.locked()


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
async def test_compressed_and_identity_event_streams_are_decoded(
    make_transport: MakeTransport, raw_server: RunRawServer, encoding: str
) -> None:
    """Uncompressed bodies are read raw (no decoder); a gzip body still gets decoded."""
    body = b'data: {"n": 1}\n\ndata: {"n": 2}\n\ndata: [DONE]\n\n'
    sent = gzip.compress(body) if encoding == "gzip" else body
    answer = raw_response("200 OK", "text/event-stream", sent)
    answer = answer.replace(b"\r\n\r\n", f"\r\ncontent-encoding: {encoding}\r\n\r\n".encode(), 1)
    cut = len(answer) - len(sent) // 2  # the body arrives in two reads
    async with raw_server(answer[:cut], answer[cut:]) as server:
        events = await collect(make_transport(base_url=server.base_url))
    assert [e.data for e in events] == ['{"n": 1}', '{"n": 2}', "[DONE]"]
