"""Cancelling a stream (what Ctrl-C does) cancels the task and releases the connection."""

from __future__ import annotations

import asyncio

import pytest

from fluent_ai import FluentAI
from fluent_ai.types import TextDelta
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer


async def _wait_for(predicate: object, attempts: int = 250) -> bool:
    for _ in range(attempts):
        if predicate():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.02)
    return False


async def test_cancel_mid_stream_releases_the_connection(openai_env: FakeOpenAIServer) -> None:
    words = " ".join(f"w{i}" for i in range(200))
    openai_env.queue(Behaviour(text=words, chunk_delay=0.05), Behaviour(text="after"))
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    received: list[str] = []

    async def consume() -> None:
        async for chunk in agent.chat("talk"):
            if isinstance(chunk, TextDelta):
                received.append(chunk.text)

    task = asyncio.create_task(consume())
    assert await _wait_for(lambda: len(received) >= 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert await _wait_for(lambda: openai_env.disconnects >= 1), "server never saw the hang-up"
    assert openai_env.completed_streams == 0
    assert agent.history == (), "a cancelled turn is not part of the history"
    assert await agent.chat("again").text() == "after"
    sent = openai_env.chat_requests[-1].body["messages"]
    assert sent == [{"role": "user", "content": "again"}]


async def test_breaking_out_of_the_loop_closes_the_stream(openai_env: FakeOpenAIServer) -> None:
    words = " ".join(f"w{i}" for i in range(200))
    openai_env.queue(Behaviour(text=words, chunk_delay=0.05))
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    stream = agent.chat("talk")
    async for chunk in stream:
        if isinstance(chunk, TextDelta):
            break
    await stream.aclose()
    assert await _wait_for(lambda: openai_env.disconnects >= 1)
    assert openai_env.completed_streams == 0
