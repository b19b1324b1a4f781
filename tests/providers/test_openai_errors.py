"""Failures of an OpenAI-compatible upstream, as the agent's user sees them."""

from __future__ import annotations

import pytest

from fluent_ai import FluentAI
from fluent_ai.errors import (
    AuthenticationError,
    ContextLengthError,
    FluentAIError,
    MalformedResponseError,
    ModelNotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    StreamInterruptedError,
)
from fluent_ai.types import ErrorChunk, TextDelta
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer


async def test_cut_stream_ends_with_error_chunk_and_partial_text(
    openai_env: FakeOpenAIServer,
) -> None:
    openai_env.queue(Behaviour(text="one two three four five six", cut_after=3))
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    chunks = [c async for c in agent.chat("count")]
    assert isinstance(chunks[-1], ErrorChunk)
    error = chunks[-1].error
    assert isinstance(error, StreamInterruptedError)
    partial = "".join(c.text for c in chunks if isinstance(c, TextDelta))
    assert partial == "one two three"
    assert chunks[-1].partial_text == partial
    assert error.partial_text == partial
    assert len(openai_env.chat_requests) == 1, "no retry once text reached the caller"
    assert agent.history == (), "a failed turn leaves no trace in the history"


async def test_cut_stream_raises_from_text(openai_env: FakeOpenAIServer) -> None:
    openai_env.queue(Behaviour(text="one two three four", cut_after=2))
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    with pytest.raises(StreamInterruptedError) as caught:
        await agent.chat("count").text()
    assert caught.value.partial_text == "one two"


async def test_malformed_frame_is_a_typed_error(openai_env: FakeOpenAIServer) -> None:
    openai_env.queue(Behaviour(text="alpha beta gamma", malformed_after=1))
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    chunks = [c async for c in agent.chat("hi")]
    assert isinstance(chunks[-1], ErrorChunk)
    assert isinstance(chunks[-1].error, MalformedResponseError)
    assert chunks[-1].partial_text == "alpha"


@pytest.mark.parametrize(
    ("behaviour", "error_type", "requests"),
    [
        (Behaviour.error(401, "Incorrect API key provided."), AuthenticationError, 1),
        (Behaviour.error(403, "Project lacks access"), PermissionDeniedError, 1),
        (Behaviour.error(404, "The model `gpt-9` does not exist"), ModelNotFoundError, 1),
        (
            Behaviour.error(
                400, "maximum context length is 128000 tokens", code="context_length_exceeded"
            ),
            ContextLengthError,
            1,
        ),
        (Behaviour.error(500, "The server had an error"), ProviderError, 3),
        (
            Behaviour.error(429, "Rate limit reached", headers={"Retry-After": "0"}),
            RateLimitError,
            3,
        ),
    ],
)
async def test_status_errors_map_to_types(
    openai_env: FakeOpenAIServer,
    behaviour: Behaviour,
    error_type: type[FluentAIError],
    requests: int,
) -> None:
    openai_env.default = behaviour
    errors: list[FluentAIError] = []
    agent = (
        FluentAI.agent("t")
        .model("openai:gpt-4o-mini")
        .max_retries(2)
        .on_error(errors.append)
        .build()
    )
    with pytest.raises(error_type) as caught:
        await agent.chat("hi").text()
    assert errors == [caught.value]
    assert caught.value.provider == "openai"
    assert len(openai_env.chat_requests) == requests


async def test_wrong_key_is_authentication_error(openai_env: FakeOpenAIServer) -> None:
    openai_env.api_key = "sk-other"
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    with pytest.raises(AuthenticationError, match="API key"):
        await agent.chat("hi").text()


async def test_rate_limit_then_success(openai_env: FakeOpenAIServer) -> None:
    limited = Behaviour.error(429, "slow down", headers={"Retry-After": "0"})
    openai_env.queue(limited, limited, Behaviour(text="Finally."))
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    assert await agent.chat("hi").text() == "Finally."
    assert len(openai_env.chat_requests) == 3


async def test_error_event_inside_stream(openai_env: FakeOpenAIServer) -> None:
    openai_env.queue(
        Behaviour(text="alpha beta gamma", error_event_after=2, error_message="overloaded")
    )
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    chunks = [c async for c in agent.chat("hi")]
    assert isinstance(chunks[-1], ErrorChunk)
    assert isinstance(chunks[-1].error, ProviderError)
    assert "overloaded" in str(chunks[-1].error)
    assert chunks[-1].partial_text == "alpha beta"


async def test_secret_never_in_error_message(openai_env: FakeOpenAIServer) -> None:
    openai_env.api_key = "sk-right"
    agent = FluentAI.agent("t").model("openai:gpt-4o-mini").build()
    with pytest.raises(AuthenticationError) as caught:
        await agent.chat("hi").text()
    assert "sk-test" not in str(caught.value)
    assert "sk-test" not in caught.value.body
