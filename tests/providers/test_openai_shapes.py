"""Frames that are valid JSON but not the documented shape, and hosts' variations."""

from __future__ import annotations

from typing import Any

import pytest

from fluent_ai import FluentAI, OpenAICompatibleProvider
from fluent_ai.errors import ConfigurationError, MalformedResponseError
from fluent_ai.providers.openai_wire import parse_completion
from fluent_ai.types import ErrorChunk, TextDelta, ThinkingDelta
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer


def _chunk(delta: Any, finish: str | None = None, choices: Any = None) -> dict[str, Any]:
    return {
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": choices
        if choices is not None
        else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


@pytest.mark.parametrize(
    "frame",
    [
        _chunk({"content": 42}),
        _chunk({"content": {"text": "x"}}),
        _chunk("just a string"),
        _chunk({}, choices={"0": {}}),
        _chunk({}, choices=["not an object"]),
        _chunk({"tool_calls": {"index": 0}}),
        _chunk({"tool_calls": [{"index": "0", "function": {"name": "f"}}]}),
        _chunk({"content": [{"type": "audio", "data": "..."}]}),
        ["a", "list"],
    ],
)
async def test_wrong_shapes_are_malformed_response_errors(
    openai_env: FakeOpenAIServer, frame: Any
) -> None:
    openai_env.queue(Behaviour(raw_frames=[_chunk({"content": "ok "}), frame]))
    errors: list[Exception] = []
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").on_error(errors.append).build()
    chunks = [c async for c in agent.chat("hi")]
    assert isinstance(chunks[-1], ErrorChunk)
    assert isinstance(chunks[-1].error, MalformedResponseError)
    assert chunks[-1].partial_text == "ok "
    assert errors == [chunks[-1].error]


async def test_content_as_parts_with_thinking(openai_env: FakeOpenAIServer) -> None:
    thinking = {"type": "thinking", "thinking": [{"type": "text", "text": "Let me think."}]}
    frames = [
        _chunk({"role": "assistant", "content": [thinking]}),
        _chunk({"content": [{"type": "text", "text": "Forty-two."}]}, finish="stop"),
    ]
    openai_env.queue(Behaviour(raw_frames=frames))
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    chunks = [c async for c in agent.chat("hi")]
    assert [c.text for c in chunks if isinstance(c, ThinkingDelta)] == ["Let me think."]
    assert [c.text for c in chunks if isinstance(c, TextDelta)] == ["Forty-two."]


async def test_text_and_tool_call_in_one_delta(openai_env: FakeOpenAIServer) -> None:
    call = {"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}}
    frames = [_chunk({"content": "Calling.", "tool_calls": [call]}, finish="tool_calls")]
    openai_env.queue(Behaviour(raw_frames=frames))
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    result = await agent.chat("hi").result()
    assert result.text == "Calling."
    assert [c.name for c in result.tool_calls] == ["f"]


@pytest.mark.parametrize(
    "answer",
    [
        {"choices": []},
        {"choices": [{"message": "text"}]},
        {"choices": [{"message": {"content": 42}}]},
        {"choices": [{"message": {"content": [{"type": "audio"}]}}]},
        {"choices": [{"message": {"tool_calls": [{"id": "x"}]}}]},
        ["not", "an", "object"],
    ],
)
def test_non_streamed_wrong_shapes_are_malformed(answer: Any) -> None:
    with pytest.raises(MalformedResponseError, match=r"chat\.completion format"):
        parse_completion(answer, provider="openai", model="m")


def test_non_streamed_content_parts() -> None:
    answer = {
        "choices": [
            {
                "message": {
                    "content": [
                        {"type": "thinking", "thinking": "hmm"},
                        {"type": "text", "text": "Yes."},
                    ]
                }
            }
        ]
    }
    result = parse_completion(answer, provider="mistral", model="magistral")
    assert (result.text, result.thinking) == ("Yes.", "hmm")


async def test_streams_reuse_one_connection(openai_env: FakeOpenAIServer) -> None:
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    for _ in range(4):
        assert await agent.chat("hi").text() == "Hello from the fake server."
    assert openai_env.connections == 1


async def test_mistral_gets_no_stream_options(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "sk-test")
    monkeypatch.setenv("MISTRAL_BASE_URL", fake_openai.base_url)
    fake_openai.queue(Behaviour(usage={"prompt_tokens": 3, "completion_tokens": 4}))
    agent = FluentAI.agent("t").model("mistral:mistral-small-latest").build()
    await agent.chat("hi").text()
    body = fake_openai.chat_requests[0].body
    assert body["stream"] is True
    assert "stream_options" not in body


async def test_provider_instance_sends_its_model(fake_openai: FakeOpenAIServer) -> None:
    provider = OpenAICompatibleProvider(
        name="myhost", base_url=fake_openai.base_url, api_key="sk-test", model="my-model"
    )
    agent = FluentAI.agent("t").model(provider).build()
    result = await agent.chat("hi").result()
    assert fake_openai.chat_requests[0].body["model"] == "my-model"
    assert result.model == "myhost:my-model"
    assert agent.model == "myhost:my-model"


def test_provider_instance_without_model_is_rejected(fake_openai: FakeOpenAIServer) -> None:
    provider = OpenAICompatibleProvider(base_url=fake_openai.base_url, api_key="k")
    with pytest.raises(ConfigurationError, match="model="):
        FluentAI.agent("t").model(provider).build()
