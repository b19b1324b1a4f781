"""The OpenAI-compatible client through the public API, against a real loopback server."""

from __future__ import annotations

import json

import pytest

from fluent_ai import ChatStream, FluentAI
from fluent_ai.types import ChatResult, Done, TextDelta, ToolCallDelta, UsageChunk
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer


async def test_streams_text_usage_and_done(openai_env: FakeOpenAIServer) -> None:
    openai_env.queue(Behaviour(text="The sky is blue because of Rayleigh scattering."))
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    chunks = [c async for c in agent.chat("Why is the sky blue?")]
    texts = [c.text for c in chunks if isinstance(c, TextDelta)]
    assert len(texts) > 3
    assert "".join(texts) == "The sky is blue because of Rayleigh scattering."
    assert isinstance(chunks[-2], UsageChunk)
    assert chunks[-2].usage.output_tokens == 8
    done = chunks[-1]
    assert isinstance(done, Done)
    assert (done.finish_reason, done.model) == ("stop", "openai:gpt-4o-mini")
    sent = openai_env.chat_requests[0]
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["messages"] == [{"role": "user", "content": "Why is the sky blue?"}]


async def test_non_streaming_answer(openai_env: FakeOpenAIServer) -> None:
    openai_env.queue(Behaviour(text="One piece answer."))
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").streaming(False).build()
    result = await agent.chat("hi").result()
    assert result.text == "One piece answer."
    assert result.finish_reason == "stop"
    assert result.usage.input_tokens == 1
    assert result.model == "openai:gpt-4o-mini"
    assert "stream" not in openai_env.chat_requests[0].body


async def test_request_carries_parameters(openai_env: FakeOpenAIServer) -> None:
    agent = (
        FluentAI.agent("t")
        .model("openai:gpt-4o-mini")
        .system_prompt("Be brief.")
        .temperature(0.3)
        .max_tokens(50)
        .top_p(0.9)
        .stop("END")
        .seed(7)
        .build()
    )
    await agent.chat("hi").text()
    body = openai_env.chat_requests[0].body
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 50
    assert body["top_p"] == 0.9
    assert body["stop"] == ["END"]
    assert body["seed"] == 7


@pytest.mark.parametrize("model", ["o3", "gpt-5-mini", "gpt-6-luna"])
async def test_reasoning_models_get_max_completion_tokens(
    openai_env: FakeOpenAIServer, model: str
) -> None:
    agent = FluentAI.agent("t").model(f"openai:{model}").max_tokens(10).build()
    await agent.chat("hi").text()
    body = openai_env.chat_requests[0].body
    assert body["max_completion_tokens"] == 10
    assert "max_tokens" not in body


async def test_tool_call_deltas_are_typed_chunks(openai_env: FakeOpenAIServer) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    openai_env.queue(Behaviour(text="", tool_calls=[call]))
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    stream = agent.chat("weather?")
    deltas = [c async for c in stream if isinstance(c, ToolCallDelta)]
    assert deltas[0].id == "call_1"
    assert deltas[0].name == "get_weather"
    assert "".join(d.arguments for d in deltas) == '{"city": "Paris"}'
    result = await _result_after_iteration(stream)
    assert result.finish_reason == "tool_calls"
    assert result.tool_calls[0].name == "get_weather"
    assert json.loads(result.tool_calls[0].arguments) == {"city": "Paris"}


async def _result_after_iteration(stream: ChatStream) -> ChatResult:
    return await stream.result()


async def test_crlf_split_frames_and_comments(openai_env: FakeOpenAIServer) -> None:
    openai_env.queue(
        Behaviour(text="Tolerant decoding works.", crlf=True, comments=True, split_writes=True)
    )
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    assert await agent.chat("hi").text() == "Tolerant decoding works."


async def test_stream_without_done_marker_but_with_finish(openai_env: FakeOpenAIServer) -> None:
    openai_env.queue(Behaviour(text="No done marker.", done_marker=False))
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    assert await agent.chat("hi").text() == "No done marker."


async def test_preset_with_base_url_override(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "sk-test")
    monkeypatch.setenv("GROQ_BASE_URL", fake_openai.base_url)
    agent = FluentAI.agent("t").model("groq:llama-3.1-8b-instant").build()
    result = await agent.chat("hi").result()
    assert result.model == "groq:llama-3.1-8b-instant"
    assert fake_openai.chat_requests[0].body["model"] == "llama-3.1-8b-instant"


async def test_local_host_preset_needs_no_key(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_openai.api_key = None
    monkeypatch.setenv("OLLAMA_BASE_URL", fake_openai.base_url)
    agent = FluentAI.agent("t").model("ollama:llama3.2").build()
    assert await agent.chat("hi").text() == "Hello from the fake server."
    assert "authorization" not in {k.lower() for k in fake_openai.chat_requests[0].headers}


async def test_host_that_ignores_stream_still_answers(openai_env: FakeOpenAIServer) -> None:
    openai_env.queue(Behaviour(text="Plain JSON, no SSE.", json_for_stream=True))
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    chunks = [c async for c in agent.chat("hi")]
    assert [c.text for c in chunks if isinstance(c, TextDelta)] == ["Plain JSON, no SSE."]
    assert isinstance(chunks[-2], UsageChunk)
    done = chunks[-1]
    assert isinstance(done, Done)
    assert (done.finish_reason, done.model) == ("stop", "openai:gpt-4o-mini")
