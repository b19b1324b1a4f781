"""The engine and ChatStream with providers written by users."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fluent_ai import FluentAI, Provider
from fluent_ai.engine import default_ledger
from fluent_ai.errors import ConfigurationError
from fluent_ai.runtime import Runtime
from fluent_ai.types import ChatRequest, Chunk, Done, TextDelta, Usage, UsageChunk


class _PlainIterator:
    """An async iterator that is not a generator (no ``aclose``)."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self._chunks = iter(chunks)

    def __aiter__(self) -> _PlainIterator:
        return self

    async def __anext__(self) -> Chunk:
        try:
            return next(self._chunks)
        except StopIteration:
            raise StopAsyncIteration from None


class HandWritten(Provider):
    name = "mine"
    model_name = "v1"

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        usage = Usage(input_tokens=2, output_tokens=3)
        return _PlainIterator(
            [TextDelta("hand "), TextDelta("made"), UsageChunk(usage), Done("stop", "mine:v1")]
        )


async def test_provider_returning_a_plain_async_iterator() -> None:
    before = default_ledger().snapshot().get("mine:v1", Usage())
    agent = FluentAI.agent("t").model(HandWritten()).build()
    chunks = [c async for c in agent.chat("hi")]
    assert isinstance(chunks[-1], Done)
    assert await agent.chat("again").text() == "hand made"
    after = default_ledger().snapshot()["mine:v1"]
    assert after.output_tokens - before.output_tokens == 6


async def test_async_with_closes_the_stream() -> None:
    agent = FluentAI.agent("t").model(HandWritten()).build()
    async with agent.chat("hi") as stream:
        async for chunk in stream:
            assert isinstance(chunk, TextDelta)
            break
    with pytest.raises(StopAsyncIteration):
        await stream._iterator.__anext__()  # type: ignore[union-attr]


def test_bad_setting_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENT_AI_MAX_RETRIES", "lots")
    with pytest.raises(ConfigurationError, match="max_retries"):
        Runtime()


def test_bad_config_file_is_a_configuration_error(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text("model = [unclosed\n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        Runtime()
