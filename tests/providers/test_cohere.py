"""Cohere v2 specifics: body shape, tool plan, tool results, finish reasons, usage,
Cohere's own statuses, model listing pages and embeddings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from fluent_ai.errors import (
    AuthenticationError,
    ContextLengthError,
    InvalidParameterError,
    InvalidRequestError,
    MalformedResponseError,
    ProviderError,
    RateLimitError,
    RequestTimeoutError,
    StreamInterruptedError,
)
from fluent_ai.providers.base import ResultBuilder
from fluent_ai.providers.cohere import CohereProvider
from fluent_ai.transport.http import TransportConfig
from fluent_ai.transport.pool import ClientPool
from fluent_ai.transport.retry import RetryPolicy
from fluent_ai.types import (
    ChatRequest,
    Chunk,
    Done,
    ImagePart,
    Message,
    Role,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    UsageChunk,
)
from tests.fakes.cohere_server import Behaviour, FakeCohereServer

KEY = "co-test"
MODEL = "command-a-03-2025"
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
CALLS = [
    {"id": "get_weather_a1", "name": "get_weather", "arguments": '{"city": "Madrid"}'},
    {"id": "get_weather_b2", "name": "get_weather", "arguments": '{"city": "Brasilia"}'},
]


@pytest.fixture
def server() -> Iterator[FakeCohereServer]:
    with FakeCohereServer(api_key=KEY) as fake:
        yield fake


@pytest.fixture
async def provider(server: FakeCohereServer) -> Any:
    pool = ClientPool()
    config = TransportConfig(retry=RetryPolicy(max_retries=0, base_delay=0.01))
    cohere = CohereProvider(
        api_key=KEY, base_url=server.base_url, model=MODEL, config=config, pool=pool
    )
    yield cohere
    await pool.aclose()


def ask(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model=MODEL, messages=messages or (Message.user("hi"),), **fields)


async def collect(provider: CohereProvider, request: ChatRequest) -> list[Chunk]:
    return [chunk async for chunk in provider.stream(request)]


async def call(provider: CohereProvider, request: ChatRequest, *, streamed: bool) -> None:
    if streamed:
        await collect(provider, request)
    else:
        await provider.complete(request)


async def drain_into(chunks: list[Chunk], provider: CohereProvider, request: ChatRequest) -> None:
    async for chunk in provider.stream(request):
        chunks.append(chunk)


# -- requests -------------------------------------------------------------------------


async def test_body_uses_cohere_parameter_names(
    server: FakeCohereServer, provider: CohereProvider
) -> None:
    request = ask(
        temperature=0.2,
        top_p=0.9,
        max_tokens=50,
        stop=("END",),
        seed=7,
        tools=(TOOL,),
        extra={"safety_mode": "STRICT", "k": 5},
    )
    await collect(provider, request)
    recorded = server.chat_requests[-1]
    body = recorded.body
    assert recorded.headers["authorization"] == f"Bearer {KEY}"
    assert body["stream"] is True
    assert (body["temperature"], body["p"], body["max_tokens"], body["seed"]) == (0.2, 0.9, 50, 7)
    assert body["stop_sequences"] == ["END"]
    assert body["tools"] == [TOOL]
    assert (body["safety_mode"], body["k"]) == ("STRICT", 5)
    assert not {"top_p", "stop", "stream_options"} & set(body)
    await provider.complete(ask())
    assert "stream" not in server.chat_requests[-1].body


async def test_message_shapes(server: FakeCohereServer, provider: CohereProvider) -> None:
    call = ToolCall("get_weather_a1", "get_weather", '{"city": "Madrid"}')
    history = (
        Message.system("Be terse."),
        Message.user((TextPart("Look:"), ImagePart("https://x.test/a.png", detail="low"))),
        Message.assistant("I will check the weather.", (call,)),
        Message(Role.TOOL, "24 degrees", tool_call_id="get_weather_a1", name="get_weather"),
        Message.assistant("", (call,)),
        Message.assistant("It is 24 degrees."),
    )
    await provider.complete(ask(*history))
    messages = server.chat_requests[-1].body["messages"]
    assert messages[0] == {"role": "system", "content": "Be terse."}
    assert messages[1]["content"] == [
        {"type": "text", "text": "Look:"},
        {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "low"}},
    ]
    wire_call = {
        "id": "get_weather_a1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Madrid"}'},
    }
    assert messages[2] == {
        "role": "assistant",
        "tool_calls": [wire_call],
        "tool_plan": "I will check the weather.",
    }
    assert messages[3] == {
        "role": "tool",
        "tool_call_id": "get_weather_a1",
        "content": "24 degrees",
    }
    assert messages[4] == {"role": "assistant", "tool_calls": [wire_call]}
    assert messages[5] == {"role": "assistant", "content": "It is 24 degrees."}


async def test_tool_result_without_call_id_is_refused(provider: CohereProvider) -> None:
    with pytest.raises(InvalidParameterError):
        await provider.complete(ask(Message(Role.TOOL, "24 degrees")))


# -- answers --------------------------------------------------------------------------


async def test_streamed_tool_plan_is_thinking_and_calls_count_from_zero(
    server: FakeCohereServer, provider: CohereProvider
) -> None:
    server.queue(Behaviour(text="", tool_plan="I will look both up.", tool_calls=CALLS))
    chunks = await collect(provider, ask(tools=(TOOL,)))
    thinking = "".join(c.text for c in chunks if isinstance(c, ThinkingDelta))
    assert thinking == "I will look both up."
    assert not any(isinstance(c, TextDelta) for c in chunks)
    deltas = [c for c in chunks if isinstance(c, ToolCallDelta)]
    assert len([d for d in deltas if d.arguments]) >= 6, "arguments arrive in pieces"
    builder = ResultBuilder(MODEL)
    for chunk in chunks:
        builder.add(chunk)
    result = builder.result()
    assert [(c.id, json.loads(c.arguments)) for c in result.tool_calls] == [
        ("get_weather_a1", {"city": "Madrid"}),
        ("get_weather_b2", {"city": "Brasilia"}),
    ]
    assert sorted({d.index for d in deltas}) == [0, 1]
    assert chunks[-1] == Done("tool_calls", f"cohere:{MODEL}")


async def test_complete_tool_plan_and_thinking(
    server: FakeCohereServer, provider: CohereProvider
) -> None:
    server.queue(Behaviour(text="", tool_plan="Checking.", tool_calls=CALLS[:1]))
    result = await provider.complete(ask(tools=(TOOL,)))
    assert (result.text, result.thinking, result.finish_reason) == ("", "Checking.", "tool_calls")
    assert result.tool_calls == (ToolCall("get_weather_a1", "get_weather", '{"city": "Madrid"}'),)
    server.queue(Behaviour(text="42", thinking="Six times seven."))
    result = await provider.complete(ask())
    assert (result.text, result.thinking, result.model) == (
        "42",
        "Six times seven.",
        "cohere:" + MODEL,
    )


async def test_tool_call_index_is_renumbered_from_zero(
    server: FakeCohereServer, provider: CohereProvider
) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}
    events: list[Any] = [
        {"type": "message-start", "id": "m", "delta": {"message": {"role": "assistant"}}},
        {"type": "tool-call-start", "index": 3, "delta": {"message": {"tool_calls": call}}},
        {
            "type": "tool-call-delta",
            "index": 3,
            "delta": {"message": {"tool_calls": {"function": {"arguments": "{}"}}}},
        },
        {"type": "debug", "prompt": "ignored"},
        {"type": "message-end", "delta": {"finish_reason": "TOOL_CALL"}},
    ]
    server.queue(Behaviour(raw_events=events))
    chunks = await collect(provider, ask())
    assert [c for c in chunks if isinstance(c, ToolCallDelta)] == [
        ToolCallDelta(0, "c1", "f", ""),
        ToolCallDelta(0, None, None, "{}"),
    ]


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("COMPLETE", "stop"),
        ("STOP_SEQUENCE", "stop"),
        ("MAX_TOKENS", "length"),
        ("TOOL_CALL", "tool_calls"),
    ],
)
@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_finish_reasons(
    server: FakeCohereServer, provider: CohereProvider, wire: str, expected: str, streamed: bool
) -> None:
    server.queue(Behaviour(text="done", finish_reason=wire))
    if streamed:
        done = (await collect(provider, ask()))[-1]
        assert isinstance(done, Done)
        assert done.finish_reason == expected
    else:
        assert (await provider.complete(ask())).finish_reason == expected


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_error_and_timeout_finishes_raise(
    server: FakeCohereServer, provider: CohereProvider, streamed: bool
) -> None:
    server.queue(
        Behaviour(text="partial answer", error_text="internal failure"),
        Behaviour(text="partial answer", finish_reason="TIMEOUT"),
    )
    for expected, code in ((ProviderError, "ERROR"), (RequestTimeoutError, "TIMEOUT")):
        with pytest.raises(expected) as caught:
            await call(provider, ask(), streamed=streamed)
        assert caught.value.code == code
        if code == "ERROR" and streamed:  # message-end carries the error text
            assert "internal failure" in str(caught.value)


async def test_usage_prefers_tokens_over_billed_units(
    server: FakeCohereServer, provider: CohereProvider
) -> None:
    both = {
        "billed_units": {"input_tokens": 5, "output_tokens": 3},
        "tokens": {"input_tokens": 205.0, "output_tokens": 4},
        "cached_tokens": 100,
    }
    billed_only = {"billed_units": {"input_tokens": 5, "output_tokens": 3}}
    server.queue(Behaviour(usage=both), Behaviour(usage=billed_only), Behaviour(usage=both))
    chunks = await collect(provider, ask())
    usage = next(c.usage for c in chunks if isinstance(c, UsageChunk))
    assert (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens) == (205, 4, 100)
    usage = (await provider.complete(ask())).usage
    assert (usage.input_tokens, usage.output_tokens) == (5, 3)
    usage = (await provider.complete(ask())).usage
    assert (usage.input_tokens, usage.output_tokens) == (205, 4)


# -- stream faults --------------------------------------------------------------------


async def test_stream_without_message_end_is_interrupted(
    server: FakeCohereServer, provider: CohereProvider
) -> None:
    server.queue(Behaviour(text="one two three", end_event=False))
    chunks: list[Chunk] = []
    with pytest.raises(StreamInterruptedError):
        await drain_into(chunks, provider, ask())
    assert "".join(c.text for c in chunks if isinstance(c, TextDelta)) == "one two three"


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "content-delta", "delta": {"message": {"content": {"text": 5}}}},
        {"type": "content-delta", "delta": "text"},
        {"type": "tool-call-delta", "delta": {"message": {"tool_calls": {"function": {}}}}},
        {"type": "tool-call-start", "delta": {"message": {"tool_calls": {"id": "x"}}}},
        {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": None}}},
        ["not", "an", "object"],
    ],
)
async def test_malformed_event_shapes(
    server: FakeCohereServer, provider: CohereProvider, bad: Any
) -> None:
    server.queue(Behaviour(raw_events=[{"type": "message-start", "delta": {}}, bad]))
    with pytest.raises(MalformedResponseError):
        await collect(provider, ask())


async def test_events_read_by_type_without_event_lines_and_citations_skipped(
    server: FakeCohereServer, provider: CohereProvider
) -> None:
    server.queue(Behaviour(text="alpha beta", event_lines=False, citations=True))
    chunks = await collect(provider, ask())
    assert "".join(c.text for c in chunks if isinstance(c, TextDelta)) == "alpha beta"
    assert isinstance(chunks[-1], Done)


async def test_json_answer_to_a_stream_request(
    server: FakeCohereServer, provider: CohereProvider
) -> None:
    server.queue(Behaviour(text="whole answer", json_for_stream=True))
    chunks = await collect(provider, ask())
    assert "".join(c.text for c in chunks if isinstance(c, TextDelta)) == "whole answer"
    assert chunks[-1] == Done("stop", f"cohere:{MODEL}")


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "error_type", "status"),
    [
        (Behaviour.error(498, "invalid token"), AuthenticationError, 498),
        (Behaviour.error(499, "request cancelled by user"), ProviderError, 499),
        (Behaviour.error(400, "too many tokens: total exceeds 4081"), ContextLengthError, 400),
        (Behaviour.error(422, "invalid request: bad role"), InvalidRequestError, 422),
        (Behaviour(status=500, error_body="<html>oops</html>"), ProviderError, 500),
    ],
)
async def test_cohere_statuses(
    server: FakeCohereServer,
    provider: CohereProvider,
    behaviour: Behaviour,
    error_type: type[ProviderError],
    status: int,
) -> None:
    server.queue(behaviour)
    with pytest.raises(error_type) as caught:
        await provider.complete(ask())
    assert caught.value.status == status
    message = behaviour.error_body or behaviour.error_message
    assert message.split()[0].strip("<>") in str(caught.value)


async def test_429_retry_after_and_401_body(
    server: FakeCohereServer, provider: CohereProvider
) -> None:
    server.queue(Behaviour.error(429, "trial key limit", headers={"Retry-After": "12"}))
    with pytest.raises(RateLimitError) as caught:
        await collect(provider, ask())
    assert caught.value.retry_after == 12.0
    wrong = CohereProvider(api_key="co-wrong", base_url=server.base_url, pool=ClientPool())
    with pytest.raises(AuthenticationError) as auth:
        await wrong.complete(ask())
    assert "invalid api token" in str(auth.value)
    assert "co-wrong" not in str(auth.value)


# -- models and embeddings ------------------------------------------------------------


async def test_list_models_follows_pages_and_keeps_chat_models(
    server: FakeCohereServer, provider: CohereProvider
) -> None:
    server.models = [
        {"name": f"command-{i}", "endpoints": ["chat"] if i != 2 else ["embed"]} for i in range(5)
    ]
    server.honour_endpoint_filter = False
    assert await provider.list_models() == ["command-0", "command-1", "command-3", "command-4"]
    pages = server.on("/v1/models")
    assert len(pages) == 3
    assert [r.query.get("page_token") for r in pages] == [None, ["2"], ["4"]]
    assert all(r.query["endpoint"] == ["chat"] for r in pages)


async def test_embed_batches_and_shapes_the_body(
    server: FakeCohereServer, provider: CohereProvider
) -> None:
    texts = [f"text {i}" for i in range(100)]
    vectors = await provider.embed(texts, input_type="search_query", dimensions=4)
    assert len(vectors) == 100
    assert all(len(v) == 4 for v in vectors)
    bodies = [r.body for r in server.on("/v2/embed")]
    assert [len(b["texts"]) for b in bodies] == [96, 4]
    assert bodies[0]["model"] == "embed-v4.0"
    assert bodies[0]["input_type"] == "search_query"
    assert bodies[0]["embedding_types"] == ["float"]
    assert bodies[0]["output_dimension"] == 4
    one = await provider.embed(["hello"])
    assert len(one) == 1
    assert "output_dimension" not in server.on("/v2/embed")[-1].body


@pytest.mark.parametrize(
    ("texts", "fields"),
    [
        ([], {}),
        ("a single string", {}),
        (["ok", 3], {}),
        (["ok"], {"dimensions": 0}),
        (["ok"], {"model": ""}),
    ],
)
async def test_embed_validates_input(
    server: FakeCohereServer, provider: CohereProvider, texts: Any, fields: dict[str, Any]
) -> None:
    with pytest.raises(InvalidParameterError):
        await provider.embed(texts, **fields)
    assert not server.on("/v2/embed")


async def test_embed_answer_with_wrong_vector_count_is_malformed(
    provider: CohereProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def answer(method: str, path: str, body: Any = None) -> Any:
        return {"embeddings": {"float": [[0.1]]}}

    monkeypatch.setattr(provider.transport, "request_json", answer)
    with pytest.raises(MalformedResponseError):
        await provider.embed(["one", "two"])


@pytest.mark.parametrize(("asked", "sent"), [(1.0, 0.99), (0.0, 0.01), (0.5, 0.5)])
async def test_top_p_is_kept_in_the_range_of_p(
    server: FakeCohereServer, provider: CohereProvider, asked: float, sent: float
) -> None:
    """Cohere's ``p`` is documented as 0.01..0.99; 1.0 (no nucleus cut) is refused."""
    await provider.complete(ask(top_p=asked))
    assert server.chat_requests[-1].body["p"] == sent
