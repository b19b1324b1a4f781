"""Anthropic Messages specifics the shared conformance suite does not cover: streams,
answers, errors and listings (request bodies are in ``test_anthropic_request.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from fluent_ai import FluentAI
from fluent_ai.errors import (
    ContextLengthError,
    MalformedResponseError,
    ModelNotFoundError,
    ProviderError,
    RateLimitError,
    StreamInterruptedError,
)
from fluent_ai.providers.anthropic import AnthropicProvider
from fluent_ai.streams import ChatStream
from fluent_ai.transport.http import TransportConfig
from fluent_ai.transport.pool import ClientPool
from fluent_ai.transport.retry import RetryPolicy
from fluent_ai.types import (
    ChatRequest,
    Chunk,
    Done,
    ErrorChunk,
    Message,
    Reasoning,
    Role,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    Usage,
    UsageChunk,
)
from tests.fakes.anthropic_server import Behaviour, FakeAnthropicServer

MODEL = "claude-sonnet-4-5"
KEY = "sk-ant-test"


@pytest.fixture
def server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(api_key=KEY, models=[f"claude-{i}" for i in range(5)]) as fake:
        yield fake


def provider(server: FakeAnthropicServer, *, retries: int = 0, **kw: Any) -> AnthropicProvider:
    config = TransportConfig(retry=RetryPolicy(max_retries=retries, base_delay=0.01))
    return AnthropicProvider(
        api_key=KEY, base_url=server.base_url, config=config, pool=ClientPool(), **kw
    )


def ask(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model=fields.pop("model", MODEL), messages=messages, **fields)


async def chunks(p: AnthropicProvider, request: ChatRequest) -> list[Chunk]:
    return [c async for c in p.stream(request)]


def sent(server: FakeAnthropicServer) -> dict[str, Any]:
    body: dict[str, Any] = server.message_requests[-1].body
    return body


async def test_headers(server: FakeAnthropicServer) -> None:
    await provider(server, headers={"anthropic-beta": "x-1"}).complete(ask(Message.user("hi")))
    headers = {k.lower(): v for k, v in server.message_requests[0].headers.items()}
    assert headers["x-api-key"] == KEY
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["anthropic-beta"] == "x-1"
    assert headers["content-type"] == "application/json"
    assert "authorization" not in headers


async def test_thinking_stream(server: FakeAnthropicServer) -> None:
    server.queue(Behaviour(text="42", thinking="Six times seven."))
    got = await chunks(provider(server), ask(Message.user("6*7?")))
    kinds = [c.kind for c in got]
    assert kinds == ["thinking"] * 4 + ["text", "usage", "done"], "ping is silent"
    thoughts = [c for c in got if isinstance(c, ThinkingDelta)]
    assert "".join(c.text for c in thoughts) == "Six times seven."
    assert thoughts[-1] == ThinkingDelta("", signature="sig==")
    server.queue(Behaviour(text="42", thinking="Six times seven."))
    result = await provider(server).complete(ask(Message.user("6*7?")))
    assert (result.thinking, result.text) == ("Six times seven.", "42")
    assert result.reasoning == (Reasoning("Six times seven.", "sig==", None, "anthropic"),)


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_signed_thinking_goes_back_before_the_tool_call(
    server: FakeAnthropicServer, streamed: bool
) -> None:
    """With thinking on, the API refuses a tool-use follow-up that drops the signed block."""
    call = {"id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    server.queue(
        Behaviour(text="", thinking="I should look it up.", tool_calls=[call]),
        Behaviour(text="22 degrees."),
    )
    agent = await (
        FluentAI.agent()
        .model(provider(server, model=MODEL))
        .streaming(streamed)
        .max_tokens(2048)
        .extra_body(thinking={"type": "enabled", "budget_tokens": 1024})
        .abuild()
    )
    first = await agent.chat("Weather in Paris?").result()
    assert first.tool_calls[0].id == "toolu_1"
    reply = Message(Role.TOOL, "22C", tool_call_id="toolu_1", name="get_weather")
    assert await agent.chat(reply).text() == "22 degrees."
    assistant = sent(server)["messages"][1]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0] == {
        "type": "thinking",
        "thinking": "I should look it up.",
        "signature": "sig==",
    }
    assert assistant["content"][-1]["type"] == "tool_use"


async def test_blocks_signed_by_another_provider_are_not_sent(
    server: FakeAnthropicServer,
) -> None:
    foreign = Reasoning("thought elsewhere", "other-sig", None, "bedrock")
    history = (
        Message.user("q"),
        Message.assistant("a", reasoning=(foreign,)),
        Message.user("again"),
    )
    await provider(server).complete(ask(*history))
    assert sent(server)["messages"][1]["content"] == "a"


async def test_redacted_thinking_round_trips(server: FakeAnthropicServer) -> None:
    redacted = Reasoning("", None, "ENCRYPTED==", "anthropic")
    history = (
        Message.user("q"),
        Message.assistant("a", reasoning=(redacted,)),
        Message.user("again"),
    )
    await provider(server).complete(ask(*history))
    assert sent(server)["messages"][1]["content"][0] == {
        "type": "redacted_thinking",
        "data": "ENCRYPTED==",
    }


async def test_tool_call_indexes_count_tool_blocks(server: FakeAnthropicServer) -> None:
    calls = [
        {"id": "toolu_a", "name": "f", "input": {"x": 1}},
        {"id": "toolu_b", "name": "g", "input": {"y": [1, 2]}},
    ]
    server.queue(Behaviour(text="Let me check.", tool_calls=calls))
    got = await chunks(provider(server), ask(Message.user("go")))
    deltas = [c for c in got if isinstance(c, ToolCallDelta)]
    assert {d.index for d in deltas} == {0, 1}
    assert [(d.id, d.name) for d in deltas if d.id] == [("toolu_a", "f"), ("toolu_b", "g")]
    for index, call in enumerate(calls):
        args = "".join(d.arguments for d in deltas if d.index == index)
        assert json.loads(args) == call["input"]
    assert got[-1] == Done("tool_calls", f"anthropic:{MODEL}")


async def test_mid_stream_overloaded_event(server: FakeAnthropicServer) -> None:
    server.queue(Behaviour(text="one two three four", error_event_after=2))
    p = provider(server, retries=2)
    out = [c async for c in ChatStream(lambda: p.stream(ask(Message.user("count"))))]
    assert isinstance(out[-1], ErrorChunk)
    error = out[-1].error
    assert type(error) is ProviderError
    assert (error.status, error.code) == (529, "overloaded_error")
    assert out[-1].partial_text == "one two"
    assert len(server.message_requests) == 1, "no replay once text reached the caller"


async def test_mid_stream_rate_limit_event(server: FakeAnthropicServer) -> None:
    server.queue(Behaviour(error_event_after=0, error_event_type="rate_limit_error"))
    with pytest.raises(RateLimitError):
        await chunks(provider(server), ask(Message.user("hi")))


async def test_529_is_retried_honouring_retry_after(server: FakeAnthropicServer) -> None:
    server.queue(Behaviour.error(529, "Overloaded", headers={"retry-after": "0"}), Behaviour())
    result = await provider(server, retries=1).complete(ask(Message.user("hi")))
    assert result.text
    assert len(server.message_requests) == 2
    server.queue(Behaviour.error(529, "Overloaded", headers={"retry-after": "3"}))
    with pytest.raises(ProviderError) as caught:
        await chunks(provider(server), ask(Message.user("hi")))
    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (
        529,
        "overloaded_error",
        3.0,
    )


@pytest.mark.parametrize(
    ("behaviour", "error_type"),
    [
        (Behaviour.error(400, "prompt is too long: 210 tokens > 200 maximum"), ContextLengthError),
        (Behaviour.error(400, "input and `max_tokens` exceed context limit"), ContextLengthError),
        (Behaviour.error(404, "model: claude-9"), ModelNotFoundError),
    ],
)
async def test_error_bodies(
    server: FakeAnthropicServer, behaviour: Behaviour, error_type: type[Exception]
) -> None:
    server.queue(behaviour)
    with pytest.raises(error_type) as caught:
        await provider(server).complete(ask(Message.user("hi")))
    assert behaviour.error_message in str(caught.value)


@pytest.mark.parametrize("streamed", [True, False])
async def test_cached_tokens_count_as_input(server: FakeAnthropicServer, streamed: bool) -> None:
    usage = {
        "input_tokens": 10,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 20,
        "output_tokens": 5,
    }
    server.queue(Behaviour(usage=usage))
    p, request = provider(server), ask(Message.user("hi"))
    if streamed:
        got = next(c.usage for c in await chunks(p, request) if isinstance(c, UsageChunk))
    else:
        got = (await p.complete(request)).usage
    assert got == Usage(input_tokens=130, output_tokens=5, cached_input_tokens=100)


async def test_stop_reason_mapping(server: FakeAnthropicServer) -> None:
    server.queue(Behaviour(stop_reason="max_tokens"), Behaviour(stop_reason="max_tokens"))
    p = provider(server)
    assert (await p.complete(ask(Message.user("hi")))).finish_reason == "length"
    assert (await chunks(p, ask(Message.user("hi"))))[-1] == Done("length", f"anthropic:{MODEL}")


async def test_stream_without_message_stop_is_interrupted(server: FakeAnthropicServer) -> None:
    server.queue(Behaviour(text="almost done", message_stop=False))
    with pytest.raises(StreamInterruptedError):
        await chunks(provider(server), ask(Message.user("hi")))


async def test_delta_for_unknown_block_is_malformed(server: FakeAnthropicServer) -> None:
    delta = {
        "type": "content_block_delta",
        "index": 3,
        "delta": {"type": "text_delta", "text": "x"},
    }
    server.queue(Behaviour(raw_events=[("content_block_delta", json.dumps(delta))]))
    with pytest.raises(MalformedResponseError):
        await chunks(provider(server), ask(Message.user("hi")))


async def test_json_answer_to_a_stream_request(server: FakeAnthropicServer) -> None:
    server.queue(Behaviour(text="whole answer", json_for_stream=True))
    got = await chunks(provider(server), ask(Message.user("hi")))
    assert [c.text for c in got if isinstance(c, TextDelta)] == ["whole answer"]
    assert isinstance(got[-1], Done)


async def test_list_models_follows_pages(server: FakeAnthropicServer) -> None:
    server.models_page_size = 2
    assert await provider(server).list_models() == [f"claude-{i}" for i in range(5)]
    paths = [r.path for r in server.requests if r.method == "GET"]
    assert paths == [
        "/v1/models?limit=1000",
        "/v1/models?limit=1000&after_id=claude-1",
        "/v1/models?limit=1000&after_id=claude-3",
    ]
