"""The real embedded model (SmolLM2-135M-Instruct via xllamacpp), kept short."""

from __future__ import annotations

import asyncio

import pytest

from fluent_ai import FluentAI
from fluent_ai.errors import ContextLengthError
from fluent_ai.providers.local import active_generations
from fluent_ai.types import Done, TextDelta, ToolCallDelta, ToolResult, UsageChunk

pytestmark = pytest.mark.integration


async def test_local_model_streams_a_real_answer() -> None:
    agent = FluentAI.agent("local").model("local").max_tokens(24).temperature(0).build()
    chunks = [c async for c in agent.chat("What is 2 + 2?")]
    texts = [c.text for c in chunks if isinstance(c, TextDelta)]
    assert len(texts) >= 3, "the answer arrives token by token"
    answer = "".join(texts)
    assert len(answer.split()) >= 3
    assert "4" in answer
    usage = next(c for c in chunks if isinstance(c, UsageChunk)).usage
    assert 0 < usage.output_tokens <= 24
    done = chunks[-1]
    assert isinstance(done, Done)
    assert done.model == "local:smollm2-135m-instruct"
    assert done.finish_reason in {"stop", "length"}


async def test_local_model_honours_stop_and_keeps_history() -> None:
    agent = FluentAI.agent("local").model("local").max_tokens(40).temperature(0).build()
    first = await agent.chat("Count from 1 to 10, separated by commas.").result()
    assert first.text
    stopped = FluentAI.agent("local").model("local").max_tokens(40).temperature(0).stop("5").build()
    text = await stopped.chat("Count from 1 to 10, separated by commas.").text()
    assert "5" not in text
    assert "6" not in text
    assert len(agent.history) == 2


async def test_cancelling_stops_local_generation() -> None:
    agent = FluentAI.agent("local").model("local").max_tokens(2000).temperature(0.8).build()
    received: list[str] = []

    three_tokens = asyncio.Event()

    async def consume() -> None:
        async for chunk in agent.chat("Write a very long story about the sea."):
            if isinstance(chunk, TextDelta):
                received.append(chunk.text)
                if len(received) == 3:
                    three_tokens.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(three_tokens.wait(), 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(500):
        if active_generations() == 0:
            break
        await asyncio.sleep(0.02)
    assert active_generations() == 0, "generation thread kept running after cancellation"
    assert agent.history == ()


async def test_prompt_beyond_context_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENT_AI_LOCAL_CONTEXT", "256")
    from fluent_ai.runtime import reset_runtime

    reset_runtime()
    agent = FluentAI.agent("local").model("local").max_tokens(8).build()
    with pytest.raises(ContextLengthError, match="context"):
        await agent.chat("word " * 600).text()


async def test_local_model_calls_a_tool_and_answers_with_its_result() -> None:
    seen: list[str] = []

    def get_weather(city: str) -> str:
        """Current weather for a city.

        Args:
            city: the city name
        """
        seen.append(city)
        return f"Sunny and 21C in {city}"

    agent = (
        FluentAI.agent("local")
        .model("local")
        .tools(get_weather)
        .max_tokens(80)
        .temperature(0)
        .build()
    )
    chunks = [c async for c in agent.chat("Use the get_weather tool for Paris.")]
    calls = [c for c in chunks if isinstance(c, ToolCallDelta)]
    results = [c for c in chunks if isinstance(c, ToolResult)]
    assert calls, "the grammar-constrained reply is a tool call"
    assert all(c.name == "get_weather" for c in calls)
    assert seen
    assert all("Paris" in city for city in seen)
    assert [r.call_id for r in results] == [c.id for c in calls]
    answer = "".join(c.text for c in chunks if isinstance(c, TextDelta))
    assert answer.strip()
    assert not answer.lstrip().startswith("{"), "the answer is prose"
    assert isinstance(chunks[-1], Done)
    roles = [m.role.value for m in agent.history]
    assert roles == ["user", "assistant", *["tool"] * len(calls), "assistant"]
