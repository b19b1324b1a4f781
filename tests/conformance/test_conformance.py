"""One suite, every adapter: each case runs against each provider's loopback server.

A harness module (``harness_<name>.py``) provides ``harness()``, a context manager that
starts that protocol's server and yields a :class:`~tests.conformance.spec.Harness`.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from fluent_ai.errors import (
    AuthenticationError,
    FluentAIError,
    MalformedResponseError,
    ProviderError,
    RateLimitError,
    StreamInterruptedError,
)
from fluent_ai.providers.base import Provider
from fluent_ai.transport.retry import is_retryable
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
from tests.conformance.spec import PNG_BASE64, Harness, Scenario, ToolCallSpec

#: Adapter name → module holding its harness (every ``harness_*.py`` next to this file).
HARNESSES = {
    path.stem.removeprefix("harness_"): f"tests.conformance.{path.stem}"
    for path in sorted(Path(__file__).parent.glob("harness_*.py"))
}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(params=sorted(HARNESSES))
def h(request: pytest.FixtureRequest) -> Iterator[Harness]:
    module = importlib.import_module(HARNESSES[request.param])
    cm: AbstractContextManager[Harness] = module.harness()
    with cm as harness:
        yield harness


def ask(h: Harness, *messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model=h.model, messages=messages, **fields)


async def call(provider: Provider, request: ChatRequest, *, streamed: bool) -> None:
    """One call, streamed or not, for the error cases."""
    if streamed:
        await collect(provider, request)
    else:
        await provider.complete(request)


async def drain_into(chunks: list[Chunk], provider: Provider, request: ChatRequest) -> None:
    async for chunk in provider.stream(request):
        chunks.append(chunk)


async def collect(provider: Provider, request: ChatRequest) -> list[Chunk]:
    chunks: list[Chunk] = []
    try:
        async for chunk in provider.stream(request):
            chunks.append(chunk)
    finally:
        await provider.aclose()
    return chunks


def text_of(chunks: list[Chunk]) -> str:
    return "".join(c.text for c in chunks if isinstance(c, TextDelta))


async def test_plain_answer(h: Harness) -> None:
    h.queue(Scenario(text="Paris is the capital of France."))
    provider = h.provider()
    result = await provider.complete(ask(h, Message.user("Capital of France?")))
    assert result.text == "Paris is the capital of France."
    assert result.model.startswith(f"{h.name}:")
    assert result.finish_reason
    assert h.turns(h.bodies()[-1]) == [("user", "Capital of France?")]


async def test_streamed_answer(h: Harness) -> None:
    h.queue(Scenario(text="one two three four five six"))
    chunks = await collect(h.provider(), ask(h, Message.user("count")))
    deltas = [c for c in chunks if isinstance(c, TextDelta)]
    assert len(deltas) >= 3, "the answer must arrive in pieces"
    assert text_of(chunks) == "one two three four five six"
    assert isinstance(chunks[-1], Done)
    assert chunks[-1].model.startswith(f"{h.name}:")


async def test_system_prompt(h: Harness) -> None:
    h.queue(Scenario(), Scenario())
    provider = h.provider()
    await provider.complete(ask(h, Message.system("Be terse."), Message.user("hi")))
    await collect(provider, ask(h, Message.system("Be terse."), Message.user("hi")))
    for body in h.bodies():
        assert h.system_text(body) == "Be terse."
        assert h.turns(body) == [("user", "hi")]


async def test_no_system_prompt(h: Harness) -> None:
    h.queue(Scenario())
    await h.provider().complete(ask(h, Message.user("hi")))
    assert not h.system_text(h.bodies()[-1])


async def test_multi_turn(h: Harness) -> None:
    h.queue(Scenario(text="You said your name is Ada."))
    history = (
        Message.user("My name is Ada."),
        Message.assistant("Nice to meet you, Ada."),
        Message.user("What is my name?"),
    )
    chunks = await collect(h.provider(), ask(h, *history))
    assert text_of(chunks) == "You said your name is Ada."
    assert h.turns(h.bodies()[-1]) == [
        ("user", "My name is Ada."),
        ("assistant", "Nice to meet you, Ada."),
        ("user", "What is my name?"),
    ]


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_tool_call_round_trip(h: Harness, streamed: bool) -> None:
    call = ToolCallSpec("call_w1", "get_weather", {"city": "Paris"})
    h.queue(Scenario(text="", tool_calls=[call]), Scenario(text="It is 22 degrees in Paris."))
    provider = h.provider()
    first = ask(h, Message.user("Weather in Paris?"), tools=(WEATHER_TOOL,))
    if streamed:
        chunks = await collect(provider, first)
        deltas = [c for c in chunks if isinstance(c, ToolCallDelta)]
        assert deltas, "a tool call must arrive as tool-call chunks"
        name = "".join(d.name or "" for d in deltas)
        arguments = "".join(d.arguments for d in deltas)
        call_id = next(d.id for d in deltas if d.id)
        done = chunks[-1]
        assert isinstance(done, Done)
    else:
        result = await provider.complete(first)
        assert len(result.tool_calls) == 1
        name, arguments, call_id = (
            result.tool_calls[0].name,
            result.tool_calls[0].arguments,
            result.tool_calls[0].id,
        )
    assert name == "get_weather"
    assert json.loads(arguments) == {"city": "Paris"}
    assert call_id
    assert h.tool_names(h.bodies()[0]) == ["get_weather"]

    follow_up = ask(
        h,
        Message.user("Weather in Paris?"),
        Message.assistant("", (ToolCall(call_id, "get_weather", arguments),)),
        Message(Role.TOOL, "22 degrees", tool_call_id=call_id, name="get_weather"),
        tools=(WEATHER_TOOL,),
    )
    answer = await h.provider().complete(follow_up)
    assert answer.text == "It is 22 degrees in Paris."
    result_ref, result_text = h.tool_result(h.bodies()[-1]) or ("", "")
    assert result_ref in (call_id, "get_weather")
    assert "22 degrees" in result_text


async def test_image_input(h: Harness) -> None:
    h.queue(Scenario(text="A single pixel."))
    image = ImagePart(f"data:image/png;base64,{PNG_BASE64}")
    message = Message.user((TextPart("What is in this image?"), image))
    result = await h.provider().complete(ask(h, message))
    assert result.text == "A single pixel."
    assert h.image_data(h.bodies()[-1]) == PNG_BASE64


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_usage(h: Harness, streamed: bool) -> None:
    h.queue(Scenario(usage=(42, 9)))
    provider = h.provider()
    request = ask(h, Message.user("hi"))
    if streamed:
        chunks = await collect(provider, request)
        usage = [c.usage for c in chunks if isinstance(c, UsageChunk)][-1]
    else:
        usage = (await provider.complete(request)).usage
    assert (usage.input_tokens, usage.output_tokens) == (42, 9)


async def test_thinking_is_its_own_chunk_kind(h: Harness) -> None:
    if not h.supports_thinking:
        pytest.skip(f"{h.name} does not stream reasoning apart")
    h.queue(Scenario(text="42", thinking="Six times seven."))
    chunks = await collect(h.provider(), ask(h, Message.user("6*7?")))
    assert "".join(c.text for c in chunks if isinstance(c, ThinkingDelta)) == "Six times seven."
    assert text_of(chunks) == "42"


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_401_is_an_authentication_error(h: Harness, streamed: bool) -> None:
    h.queue(Scenario(status=401))
    provider = h.provider(api_key="wrong-key")
    with pytest.raises(AuthenticationError) as caught:
        await call(provider, ask(h, Message.user("hi")), streamed=streamed)
    # 401 for key-based APIs; AWS answers a bad signature with 403.
    assert caught.value.status in (401, 403)
    assert "wrong-key" not in str(caught.value)


async def test_429_carries_retry_after_and_is_retried(h: Harness) -> None:
    h.queue(Scenario(status=429, retry_after="0"), Scenario(text="after the wait"))
    result = await h.provider(max_retries=1).complete(ask(h, Message.user("hi")))
    assert result.text == "after the wait"

    h.queue(Scenario(status=429, retry_after="7"))
    with pytest.raises(RateLimitError) as caught:
        await collect(h.provider(max_retries=0), ask(h, Message.user("hi")))
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_500_is_a_provider_error(h: Harness, streamed: bool) -> None:
    h.queue(Scenario(status=500))
    provider = h.provider()
    with pytest.raises(ProviderError) as caught:
        await call(provider, ask(h, Message.user("hi")), streamed=streamed)
    assert caught.value.status == 500


async def test_cut_stream_is_interrupted(h: Harness) -> None:
    h.queue(Scenario(text="one two three four five six", cut_after=2))
    chunks: list[Chunk] = []
    provider = h.provider()
    with pytest.raises(StreamInterruptedError):
        await drain_into(chunks, provider, ask(h, Message.user("count")))
    await provider.aclose()
    assert text_of(chunks), "text that arrived before the cut is delivered"
    assert not any(isinstance(c, Done) for c in chunks)


async def test_an_error_event_before_the_first_chunk_is_retried(h: Harness) -> None:
    if not h.supports_error_events:
        pytest.skip(f"{h.name} reports errors only as HTTP statuses")
    h.queue(Scenario(error_event_first=True), Scenario(text="second try works"))
    chunks = await collect(h.provider(max_retries=1), ask(h, Message.user("hi")))
    assert text_of(chunks) == "second try works"
    assert len(h.bodies()) == 2

    h.queue(Scenario(error_event_first=True))
    with pytest.raises(ProviderError) as caught:
        await collect(h.provider(max_retries=0), ask(h, Message.user("hi")))
    assert is_retryable(caught.value), "a server-side error event is worth a retry"


async def test_malformed_event_is_a_typed_error(h: Harness) -> None:
    h.queue(Scenario(text="one two three four five six", malformed_after=1))
    with pytest.raises(MalformedResponseError):
        await collect(h.provider(), ask(h, Message.user("hi")))


async def test_errors_are_fluent_ai_errors(h: Harness) -> None:
    """Every failure above is catchable as the common base class."""
    h.queue(Scenario(status=400))
    with pytest.raises(FluentAIError):
        await h.provider().complete(ask(h, Message.user("hi")))
