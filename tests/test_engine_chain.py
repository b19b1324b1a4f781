"""The engine's model chains against real loopback servers: when a fallback takes over,
what a call costs, and the usage totals kept by the ledger, agents and conversations."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import pytest

from fluent_ai import AgentBuilder, FluentAI, ScriptedModel
from fluent_ai.engine import Engine, Target, UsageLedger, default_ledger
from fluent_ai.errors import (
    AuthenticationError,
    InvalidParameterError,
    ProviderError,
    StreamInterruptedError,
    UnsupportedFeatureError,
)
from fluent_ai.models.catalogue import ModelInfo, bundled_catalogue
from fluent_ai.providers.base import Provider
from fluent_ai.providers.openai_compat import OpenAICompatibleProvider
from fluent_ai.transport import ClientPool, RetryPolicy, TransportConfig, default_breakers
from fluent_ai.types import ChatRequest, Chunk, Done, Message, Role, TextDelta, Usage
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer

_INFO = bundled_catalogue().get("openai", "gpt-4o-mini")
assert _INFO is not None
INFO: ModelInfo = _INFO
USAGE = {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}
COST = (1000 * 0.15 + 500 * 0.60) / 1_000_000
REQUEST = ChatRequest("gpt-4o-mini", (Message(Role.USER, "hi"),))


@pytest.fixture
def backup() -> Iterator[FakeOpenAIServer]:
    """A second fake server, for the second model of a chain."""
    with FakeOpenAIServer(api_key="sk-test") as server:
        yield server


@pytest.fixture
async def pool() -> AsyncIterator[ClientPool]:
    pool = ClientPool()
    yield pool
    await pool.aclose()


def target(
    server: FakeOpenAIServer,
    name: str,
    pool: ClientPool,
    *,
    retries: int = 0,
    info: ModelInfo | None = INFO,
) -> Target:
    retry = RetryPolicy(max_retries=retries, base_delay=0.01, max_delay=0.02)
    provider = OpenAICompatibleProvider(
        name=name,
        base_url=server.base_url,
        api_key="sk-test",
        config=TransportConfig(retry=retry),
        pool=pool,
    )
    return Target(provider, "gpt-4o-mini", info)


async def run(
    targets: Sequence[Target], *, stream: bool = True, engine: Engine | None = None
) -> list[Chunk]:
    engine = engine or Engine(UsageLedger())
    return [chunk async for chunk in engine.run(targets, REQUEST, stream=stream)]


async def drain(source: AsyncIterator[Chunk], into: list[Chunk]) -> None:
    async for chunk in source:
        into.append(chunk)


def text_of(chunks: list[Chunk]) -> str:
    return "".join(c.text for c in chunks if isinstance(c, TextDelta))


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
async def test_second_model_answers_when_the_first_always_fails(
    fake_openai: FakeOpenAIServer, backup: FakeOpenAIServer, pool: ClientPool, stream: bool
) -> None:
    fake_openai.default = Behaviour.error(500)
    backup.queue(Behaviour(text="Answered by b.", usage=USAGE))
    chunks = await run([target(fake_openai, "a", pool), target(backup, "b", pool)], stream=stream)
    done = chunks[-1]
    assert isinstance(done, Done)
    assert done.model == "b:gpt-4o-mini"
    assert done.cost_usd == pytest.approx(COST)
    assert text_of(chunks) == "Answered by b."
    assert (len(fake_openai.chat_requests), len(backup.chat_requests)) == (1, 1)


async def test_rejected_key_does_not_fall_back(
    fake_openai: FakeOpenAIServer, backup: FakeOpenAIServer, pool: ClientPool
) -> None:
    fake_openai.default = Behaviour.error(401, "Incorrect API key provided.")
    with pytest.raises(AuthenticationError) as caught:
        await run([target(fake_openai, "a", pool), target(backup, "b", pool)])
    assert "after" not in str(caught.value)
    assert backup.chat_requests == []


async def test_failure_after_the_first_chunk_does_not_fall_back(
    fake_openai: FakeOpenAIServer, backup: FakeOpenAIServer, pool: ClientPool
) -> None:
    fake_openai.queue(Behaviour(text="one two three four five", cut_after=2))
    seen: list[Chunk] = []
    chain = [target(fake_openai, "a", pool), target(backup, "b", pool)]
    with pytest.raises(StreamInterruptedError):
        await drain(Engine(UsageLedger()).run(chain, REQUEST), seen)
    assert text_of(seen).startswith("one")
    assert backup.chat_requests == []


async def test_when_all_fail_the_last_error_names_those_tried_before(
    fake_openai: FakeOpenAIServer, backup: FakeOpenAIServer, pool: ClientPool
) -> None:
    fake_openai.default = Behaviour.error(500, "first is down")
    backup.default = Behaviour.error(503, "second is down")
    chain = [target(fake_openai, "a", pool), target(fake_openai, "c", pool)]
    with pytest.raises(ProviderError) as caught:
        await run([*chain, target(backup, "b", pool)])
    assert caught.value.status == 503
    assert caught.value.provider == "b"
    assert str(caught.value).endswith("(after a:gpt-4o-mini, c:gpt-4o-mini failed)")


async def test_open_circuit_on_the_first_model_falls_back(
    fake_openai: FakeOpenAIServer, backup: FakeOpenAIServer, pool: ClientPool
) -> None:
    fake_openai.default = Behaviour.error(500)
    # Enough retries for the process-wide breaker of the first host to open mid-call.
    chain = [target(fake_openai, "a", pool, retries=9), target(backup, "b", pool)]
    await run(chain)
    failed = len(fake_openai.chat_requests)
    assert failed < 10, "the breaker opened and stopped the retries"
    assert default_breakers().get(f"127.0.0.1:{fake_openai.port}").state == "open"
    done = (await run(chain))[-1]
    assert isinstance(done, Done)
    assert done.model == "b:gpt-4o-mini"
    assert len(fake_openai.chat_requests) == failed, "the open circuit spared the first host"
    assert len(backup.chat_requests) == 2


async def test_request_the_model_cannot_take_is_refused_before_sending(
    fake_openai: FakeOpenAIServer, pool: ClientPool
) -> None:
    text_only = dataclasses.replace(INFO, capabilities=frozenset())
    tool = {"type": "function", "function": {"name": "f", "parameters": {}}}
    request = dataclasses.replace(REQUEST, tools=(tool,))
    engine = Engine(UsageLedger())
    with pytest.raises(UnsupportedFeatureError):
        async for _ in engine.run([target(fake_openai, "a", pool, info=text_only)], request):
            pass
    assert fake_openai.requests == []


class HandWritten(Provider):
    """Streams a few words, then Done unless told not to; remembers being closed."""

    name = "handwritten"
    model_name = "m"

    def __init__(self, *, finish: bool = True) -> None:
        self.finish = finish
        self.closed = False

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        try:
            for index in range(3):
                yield TextDelta(f"w{index} ")
            if self.finish:
                yield Done("stop", "handwritten:m")
        finally:
            self.closed = True


async def test_closing_the_stream_closes_the_provider_stream_at_once() -> None:
    provider = HandWritten()
    chunks = Engine(UsageLedger()).run([Target(provider, "m")], REQUEST)
    async for _ in chunks:
        break
    await chunks.aclose()
    assert provider.closed


async def test_a_stream_ending_without_done_is_a_typed_error() -> None:
    agent = FluentAI.agent("t").model(HandWritten(finish=False)).build()
    with pytest.raises(StreamInterruptedError) as caught:
        await agent.chat("hi").result()
    assert caught.value.partial_text == "w0 w1 w2 "


@pytest.mark.parametrize("priced", [True, False], ids=["catalogued", "uncatalogued"])
async def test_cost_includes_cached_input_at_its_price(
    fake_openai: FakeOpenAIServer, pool: ClientPool, priced: bool
) -> None:
    usage = {**USAGE, "prompt_tokens_details": {"cached_tokens": 400}}
    fake_openai.queue(Behaviour(usage=usage))
    done = (await run([target(fake_openai, "a", pool, info=INFO if priced else None)]))[-1]
    assert isinstance(done, Done)
    if not priced:
        assert done.cost_usd is None
        return
    cached = INFO.cached_input_price if INFO.cached_input_price is not None else 0.15
    expected = (600 * 0.15 + 400 * cached + 500 * 0.60) / 1_000_000
    assert done.cost_usd == pytest.approx(expected)


async def test_default_ledger_totals_usage_and_cost_per_model(
    fake_openai: FakeOpenAIServer, pool: ClientPool
) -> None:
    ledger = default_ledger()
    spec = "ledger-test:gpt-4o-mini"
    calls, total, cost = ledger.calls.get(spec, 0), ledger.cost_usd, ledger.costs.get(spec, 0.0)
    fake_openai.default = Behaviour(usage=USAGE)
    chain = [target(fake_openai, "ledger-test", pool)]
    await run(chain, engine=Engine())
    await run(chain, stream=False, engine=Engine())
    assert ledger.calls[spec] - calls == 2
    assert ledger.snapshot()[spec].input_tokens >= 2000
    assert ledger.costs[spec] - cost == pytest.approx(2 * COST)
    assert ledger.cost_usd - total == pytest.approx(2 * COST)


# -- through agents ---------------------------------------------------------------------


async def test_agent_and_conversation_total_their_turns(openai_env: FakeOpenAIServer) -> None:
    openai_env.default = Behaviour(text="ok", usage=USAGE)
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    conversation = agent.conversation()
    first = await conversation.chat("one").result()
    await conversation.chat("two").result()
    assert first.cost_usd == pytest.approx(COST)
    for holder in (conversation, agent):
        assert holder.usage == Usage(2000, 1000)
        assert holder.cost_usd == pytest.approx(2 * COST)
    await agent.chat("three").text()
    assert agent.usage == Usage(3000, 1500)
    assert agent.cost_usd == pytest.approx(3 * COST)
    assert conversation.usage == Usage(2000, 1000)


async def test_scripted_model_as_fallback_through_the_builder(
    openai_env: FakeOpenAIServer,
) -> None:
    openai_env.default = Behaviour.error(500)
    script = ScriptedModel("Answered by the script.")
    agent = (
        FluentAI.agent("t").model("openai:gpt-4o-mini", fallback=[script]).max_retries(0).build()
    )
    assert agent.model == "openai:gpt-4o-mini"
    assert agent.fallback_models == ("scripted:scripted",)
    assert [t.spec for t in agent.targets] == ["openai:gpt-4o-mini", "scripted:scripted"]
    result = await agent.chat("hi").result()
    assert (result.text, result.model, result.cost_usd) == (
        "Answered by the script.",
        "scripted:scripted",
        None,
    )
    assert [r.model for r in script.requests] == ["scripted"]
    assert len(openai_env.chat_requests) == 1
    assert agent.cost_usd == 0.0
    assert agent.usage == result.usage


def test_fallback_specs_are_resolved_in_order(openai_env: FakeOpenAIServer) -> None:
    agent = (
        FluentAI.agent("t")
        .model("openai:gpt-4o-mini", fallback=["openai", ScriptedModel(model_name="s2")])
        .build()
    )
    assert agent.fallback_models == ("openai:gpt-4o-mini", "scripted:s2")
    assert agent.targets[1].info is not None


@pytest.mark.parametrize(
    ("parameter", "configure"),
    [
        ("model", lambda b: b.model("openai:gpt-4o-mini", requires=["tools"])),
        ("model", lambda b: b.model()),
        ("fallback", lambda b: b.model("openai:gpt-4o-mini", fallback="openai:gpt-4o")),
        ("fallback", lambda b: b.model("openai:gpt-4o-mini", fallback=ScriptedModel())),
        ("requires", lambda b: b.model(requires="tools")),
    ],
)
def test_builder_refuses_bad_model_arguments(
    parameter: str, configure: Callable[[AgentBuilder], AgentBuilder]
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        configure(FluentAI.agent("t"))
    assert caught.value.parameter == parameter


def test_requires_picks_a_capable_model_of_the_configured_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_TOKEN", "_BASE_URL")) or name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    agent = FluentAI.agent("t").model(requires=["tools"]).build()
    [chosen] = agent.targets
    assert chosen.provider.name == "openai"
    assert agent.model.startswith("openai:")
    assert chosen.info is not None
    assert chosen.info.has("tools")
