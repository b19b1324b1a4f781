"""OpenTelemetry spans of model calls (GenAI semantic conventions), with the real SDK.

The global tracer provider can be set only once per process, so each test hands its own
provider to the API's ``get_tracer`` (its documented ``tracer_provider`` argument) and
reads the finished spans from an in-memory exporter.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator, Sequence

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from fluent_ai.engine import Engine, Target, UsageLedger
from fluent_ai.errors import AuthenticationError, StreamInterruptedError
from fluent_ai.models.catalogue import bundled_catalogue
from fluent_ai.providers.base import Provider
from fluent_ai.providers.openai_compat import OpenAICompatibleProvider
from fluent_ai.transport import ClientPool, RetryPolicy, TransportConfig
from fluent_ai.types import ChatRequest, Chunk, Done, Message, Role, TextDelta
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer

USAGE = {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
REQUEST = ChatRequest(
    "gpt-4o-mini", (Message(Role.USER, "hi"),), temperature=0.3, max_tokens=50, top_p=0.9
)


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(
        trace, "get_tracer", functools.partial(trace.get_tracer, tracer_provider=provider)
    )
    yield exporter
    provider.shutdown()


@pytest.fixture
async def pool() -> AsyncIterator[ClientPool]:
    pool = ClientPool()
    yield pool
    await pool.aclose()


def target(server: FakeOpenAIServer, name: str, pool: ClientPool) -> Target:
    provider = OpenAICompatibleProvider(
        name=name,
        base_url=server.base_url,
        api_key="sk-test",
        config=TransportConfig(retry=RetryPolicy(max_retries=0)),
        pool=pool,
    )
    return Target(provider, "gpt-4o-mini", bundled_catalogue().get("openai", "gpt-4o-mini"))


async def run(targets: Sequence[Target], *, stream: bool = True) -> Done:
    chunks = [c async for c in Engine(UsageLedger()).run(targets, REQUEST, stream=stream)]
    done = chunks[-1]
    assert isinstance(done, Done)
    return done


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    [span] = exporter.get_finished_spans()
    return span


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
async def test_a_call_is_one_client_span_with_gen_ai_attributes(
    exporter: InMemorySpanExporter, fake_openai: FakeOpenAIServer, pool: ClientPool, stream: bool
) -> None:
    fake_openai.queue(Behaviour(usage=USAGE, model="gpt-4o-mini-2024-07-18"))
    done = await run([target(fake_openai, "openai", pool)], stream=stream)
    span = only_span(exporter)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes or {})
    assert {k: attributes[k] for k in attributes if not k.endswith("finish_reasons")} == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.3,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 7,
        "fluent_ai.cost_usd": pytest.approx(done.cost_usd),
    }
    assert tuple(attributes["gen_ai.response.finish_reasons"]) == ("stop",)  # type: ignore[arg-type]


async def test_unset_request_parameters_are_not_recorded(
    exporter: InMemorySpanExporter, fake_openai: FakeOpenAIServer, pool: ClientPool
) -> None:
    plain = ChatRequest("gpt-4o-mini", (Message(Role.USER, "hi"),))
    async for _ in Engine(UsageLedger()).run([target(fake_openai, "openai", pool)], plain):
        pass
    attributes = only_span(exporter).attributes or {}
    assert not [
        k for k in attributes if k.startswith("gen_ai.request.") and k != "gen_ai.request.model"
    ]


async def test_a_failed_call_has_error_type_and_error_status(
    exporter: InMemorySpanExporter, fake_openai: FakeOpenAIServer, pool: ClientPool
) -> None:
    fake_openai.queue(Behaviour.error(401, "Incorrect API key provided."))
    with pytest.raises(AuthenticationError):
        await run([target(fake_openai, "openai", pool)])
    span = only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert "Incorrect API key" in (span.status.description or "")
    attributes = span.attributes or {}
    assert attributes["error.type"] == "AuthenticationError"
    assert "gen_ai.response.model" not in attributes
    assert span.end_time is not None


async def test_a_stream_cut_after_its_first_chunk_is_a_failed_span(
    exporter: InMemorySpanExporter, fake_openai: FakeOpenAIServer, pool: ClientPool
) -> None:
    fake_openai.queue(Behaviour(text="one two three four", cut_after=2))
    with pytest.raises(StreamInterruptedError):
        await run([target(fake_openai, "openai", pool)])
    span = only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "StreamInterruptedError"


async def test_a_stream_closed_early_still_ends_its_span(
    exporter: InMemorySpanExporter, fake_openai: FakeOpenAIServer, pool: ClientPool
) -> None:
    fake_openai.queue(Behaviour(text="one two three four five six"))
    chunks = Engine(UsageLedger()).run([target(fake_openai, "openai", pool)], REQUEST)
    async for _ in chunks:
        break
    await chunks.aclose()
    span = only_span(exporter)
    assert span.end_time is not None
    # Abandoning a stream (a "stop" button) is marked, not reported as a failure.
    assert span.status.status_code is not StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["fluent_ai.cancelled"] is True


class Unfinished(Provider):
    """A hand-written provider whose stream stops without a Done."""

    name = "unfinished"
    model_name = "m"

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        yield TextDelta("partial")


async def test_a_stream_ending_without_done_ends_its_span_as_failed(
    exporter: InMemorySpanExporter,
) -> None:
    with pytest.raises(StreamInterruptedError) as caught:
        async for _ in Engine(UsageLedger()).run(Unfinished(), REQUEST):
            pass
    assert caught.value.partial_text == "partial"
    assert only_span(exporter).status.status_code is StatusCode.ERROR


async def test_a_fallback_chain_makes_one_span_per_model_tried(
    exporter: InMemorySpanExporter, fake_openai: FakeOpenAIServer, pool: ClientPool
) -> None:
    with FakeOpenAIServer(api_key="sk-test") as backup:
        fake_openai.default = Behaviour.error(500)
        backup.queue(Behaviour(usage=USAGE))
        done = await run([target(fake_openai, "first", pool), target(backup, "second", pool)])
    assert done.model == "second:gpt-4o-mini"
    failed, answered = sorted(exporter.get_finished_spans(), key=lambda s: s.start_time or 0)
    assert (failed.attributes or {})["gen_ai.provider.name"] == "first"
    assert (failed.attributes or {})["error.type"] == "ProviderError"
    assert failed.status.status_code is StatusCode.ERROR
    assert (answered.attributes or {})["gen_ai.provider.name"] == "second"
    assert (answered.attributes or {})["gen_ai.usage.output_tokens"] == 7
    assert answered.status.status_code is StatusCode.UNSET
    assert {failed.name, answered.name} == {"chat gpt-4o-mini"}
