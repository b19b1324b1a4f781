"""The embedded model's threads: exit, starvation and stalled consumers.

Generation runs in daemon threads that llama.cpp does not wait for, so these tests check
that nothing outlives its consumer: the interpreter exits with a stream half read, unread
streams do not starve later requests, and a stalled consumer stops generation with a
typed error. Time bounds are hang guards, never speed assertions.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator

import pytest

from fluent_ai import FluentAI
from fluent_ai.agent.agent import Agent
from fluent_ai.config import Settings
from fluent_ai.errors import ConfigurationError, StreamInterruptedError
from fluent_ai.providers import local
from fluent_ai.providers.local import (
    LocalModelConfig,
    LocalProvider,
    _busy_requests,
    active_generations,
    find_default_gguf,
)
from fluent_ai.runtime import Runtime
from fluent_ai.streams import ChatStream
from fluent_ai.types import Chunk, ErrorChunk, TextDelta

GUARD = 90.0  # seconds: only ever reached when something hangs
STORY = "Write a very long story about dragons, knights, castles and kings."

_HALF_READ_THEN_EXIT = """
    from fluent_ai import FluentAI, ScriptedModel
    model = {model}
    agent = FluentAI.agent("t").model(model).max_tokens(400).build()
    it = agent.stream_sync("Write a long story about a dragon and a knight.")
    next(it)
    print("read one chunk", flush=True)
"""


async def _wait_idle() -> int:
    for _ in range(int(GUARD / 0.02)):
        if active_generations() == 0:
            break
        await asyncio.sleep(0.02)
    return active_generations()


@pytest.mark.parametrize(
    "model",
    [
        pytest.param('"local"', marks=pytest.mark.integration, id="local"),
        pytest.param('ScriptedModel("one two three four")', id="scripted"),
    ],
)
def test_exit_does_not_hang_after_a_half_read_sync_stream(model: str) -> None:
    script = textwrap.dedent(_HALF_READ_THEN_EXIT).format(model=model)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=GUARD
    )
    assert done.returncode == 0, done.stderr
    assert "read one chunk" in done.stdout


@pytest.mark.integration
async def test_unread_streams_do_not_starve_a_later_request() -> None:
    agent = await FluentAI.agent("t").model("local").max_tokens(200).temperature(0).abuild()
    held: list[tuple[ChatStream, AsyncIterator[Chunk]]] = []
    try:
        for i in range(4):  # started, then left unread: their generating threads block
            stream = agent.conversation().chat(f"{STORY} Story number {i}.")
            chunks = aiter(stream)
            await asyncio.wait_for(anext(chunks), GUARD)
            held.append((stream, chunks))
        answer = await asyncio.wait_for(agent.conversation().chat("Say hi.").text(), GUARD)
        assert answer
    finally:
        for stream, _ in held:
            await stream.aclose()
    assert await _wait_idle() == 0


def _stalling_agent(stall_timeout: float) -> Agent:
    config = LocalModelConfig(str(find_default_gguf()), stall_timeout=stall_timeout)
    provider = LocalProvider(config)
    return FluentAI.agent("t").model(provider).max_tokens(400).temperature(0).build()


@pytest.mark.integration
async def test_a_stalled_consumer_stops_generation_with_a_typed_error() -> None:
    agent = _stalling_agent(0.5)
    stream = agent.chat(STORY)
    chunks = aiter(stream)
    first = await asyncio.wait_for(anext(chunks), GUARD)
    assert await _wait_idle() == 0, "generation kept running for a consumer that stalled"

    rest = [chunk async for chunk in chunks]  # the consumer comes back
    texts = [c.text for c in (first, *rest) if isinstance(c, TextDelta)]
    assert len(texts) > 1, "the chunks produced before the stall are kept"
    last = rest[-1]
    assert isinstance(last, ErrorChunk)
    assert isinstance(last.error, StreamInterruptedError)
    assert "consumer stalled for 0.5s; generation stopped" in str(last.error)
    assert last.error.partial_text == "".join(texts)
    assert agent.history == ()

    again = await asyncio.wait_for(agent.chat("Say hi.").text(), GUARD)
    assert again, "the model's slot is free again"


@pytest.mark.integration
async def test_a_stall_is_raised_by_the_collectors() -> None:
    agent = _stalling_agent(0.3)
    stream = agent.chat(STORY)
    chunks = aiter(stream)
    await asyncio.wait_for(anext(chunks), GUARD)
    assert await _wait_idle() == 0
    async for _ in chunks:  # the consumer comes back and reads to the end
        pass
    with pytest.raises(StreamInterruptedError, match="stalled"):
        await stream.result()


def test_stall_timeout_is_not_part_of_the_model_identity() -> None:
    short = LocalModelConfig("/m/a.gguf", stall_timeout=0.5)
    assert short == LocalModelConfig("/m/a.gguf")  # one loaded model for both
    assert hash(short) == hash(LocalModelConfig("/m/a.gguf"))
    assert LocalModelConfig("/m/a.gguf").stall_timeout == 60.0
    with pytest.raises(ConfigurationError, match="stall_timeout"):
        LocalModelConfig("/m/a.gguf", stall_timeout=0)


def test_stall_timeout_comes_from_settings() -> None:
    runtime = Runtime(Settings(local_model_path="/m/a.gguf", local_stall_timeout=7.5), env={})
    provider = runtime.resolve("local").provider
    assert isinstance(provider, LocalProvider)
    assert provider.config.stall_timeout == 7.5


class _FakeServer:
    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer

    def handle_metrics(self) -> str:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    ("answer", "busy"),
    [
        ("llamacpp:requests_processing 1\nllamacpp:requests_deferred 2\n", 3),
        ("# HELP x\nllamacpp:requests_processing 0\nllamacpp:requests_deferred 0\n", 0),
        ('{"error": {"code": 501}}', 0),  # metrics unavailable: treated as idle
        (RuntimeError("gone"), 0),
    ],
)
def test_exit_hook_reads_whether_llama_cpp_is_busy(answer: str | Exception, busy: int) -> None:
    assert _busy_requests(_FakeServer(answer), time.monotonic() + GUARD) == busy


@pytest.mark.integration
async def test_llama_cpp_reports_busy_while_generating_and_idle_after() -> None:
    """The exit hook waits on this signal so the process never exits mid-decode."""
    provider = LocalProvider()
    await provider.load()
    server = local._servers[provider.config]
    agent = FluentAI.agent("t").model(provider).max_tokens(400).temperature(0).build()
    stream = agent.chat(STORY)
    chunks = aiter(stream)
    await asyncio.wait_for(anext(chunks), GUARD)
    deadline = time.monotonic() + GUARD
    assert await asyncio.to_thread(_busy_requests, server, deadline) >= 1
    await stream.aclose()
    assert await _wait_idle() == 0
    for _ in range(int(GUARD / 0.02)):
        if await asyncio.to_thread(_busy_requests, server, deadline) == 0:
            break
        await asyncio.sleep(0.02)
    assert await asyncio.to_thread(_busy_requests, server, deadline) == 0
