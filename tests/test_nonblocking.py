"""Library code must never block the event loop (checked with blockbuster)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from blockbuster import BlockBuster, BlockingError, blockbuster_ctx

from fluent_ai import FluentAI, ScriptedModel
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer


@pytest.fixture
def blockbuster() -> Iterator[BlockBuster]:
    with blockbuster_ctx("fluent_ai") as bb:
        yield bb


async def test_detector_is_armed(blockbuster: BlockBuster) -> None:
    """Guard against a silently disabled detector: blocking library code must be caught."""
    with pytest.raises(BlockingError):
        FluentAI.agent("t").model(ScriptedModel("x")).build()  # reads settings from disk


async def test_http_streaming_does_not_block(
    openai_env: FakeOpenAIServer, blockbuster: BlockBuster
) -> None:
    openai_env.queue(
        Behaviour(text="streamed without blocking", chunk_delay=0.01),
        Behaviour.error(429, "wait", headers={"Retry-After": "0"}),
        Behaviour(text="after a retry"),
    )
    agent = await FluentAI.agent("t").model("openai:gpt-4o-mini").abuild()
    assert await agent.chat("hi").text() == "streamed without blocking"
    assert await agent.chat("again").text() == "after a retry"


async def test_scripted_agent_does_not_block(blockbuster: BlockBuster) -> None:
    builder = FluentAI.agent("t").model(ScriptedModel("plain answer"))
    agent = await builder.system_prompt("Today is {{ date }}.").abuild()
    assert await agent.chat("hi").text() == "plain answer"


@pytest.mark.integration
async def test_local_model_does_not_block(blockbuster: BlockBuster) -> None:
    agent = await FluentAI.agent("t").model("local").max_tokens(8).abuild()
    assert await agent.chat("Say hello.").text()
