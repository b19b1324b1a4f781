"""Azure OpenAI: deployment URLs with api-version, the api-key header, Azure's errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fluent_ai.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    ModelNotFoundError,
    RateLimitError,
)
from fluent_ai.providers.azure import AzureOpenAIProvider
from fluent_ai.transport.http import TransportConfig
from fluent_ai.transport.retry import RetryPolicy
from fluent_ai.types import ChatRequest, Chunk, Done, Message, TextDelta, UsageChunk
from tests.fakes.azure_server import ACCESS_DENIED, Behaviour, FakeAzureServer

KEY = "azure-key-123"


@pytest.fixture
def server() -> Iterator[FakeAzureServer]:
    with FakeAzureServer(api_key=KEY) as fake:
        yield fake


def make(server: FakeAzureServer, **options: Any) -> AzureOpenAIProvider:
    settings: dict[str, Any] = {"deployment": "gpt-4o-mini", "api_key": KEY, **options}
    config = TransportConfig(retry=RetryPolicy(max_retries=0))
    return AzureOpenAIProvider(endpoint=server.base_url, config=config, **settings)


def ask(model: str = "gpt-4o-mini") -> ChatRequest:
    return ChatRequest(model=model, messages=(Message.user("hi"),))


async def collect(provider: AzureOpenAIProvider, request: ChatRequest) -> list[Chunk]:
    return [chunk async for chunk in provider.stream(request)]


async def call(provider: AzureOpenAIProvider, request: ChatRequest, *, streamed: bool) -> None:
    if streamed:
        await collect(provider, request)
    else:
        await provider.complete(request)


async def test_url_header_and_body_follow_azure(server: FakeAzureServer) -> None:
    server.queue(Behaviour(text="from azure"), Behaviour(text="streamed from azure"))
    provider = make(server)
    result = await provider.complete(ask())
    chunks = await collect(provider, ask())
    assert result.text == "from azure"
    assert "".join(c.text for c in chunks if isinstance(c, TextDelta)) == "streamed from azure"
    assert any(isinstance(c, UsageChunk) for c in chunks)
    for sent in server.chat_requests:
        assert (
            sent.path == "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21"
        )
        assert sent.headers["api-key"] == KEY
        assert "authorization" not in {k.lower() for k in sent.headers}
        assert "model" not in sent.body
    assert server.chat_requests[1].body["stream"] is True


async def test_model_is_named_after_the_deployment(server: FakeAzureServer) -> None:
    """The server reports the underlying model; results name the deployment asked for."""
    result = await make(server).complete(ask())
    assert result.model == "azure:gpt-4o-mini"
    chunks = await collect(make(server), ask())
    assert chunks[-1] == Done("stop", "azure:gpt-4o-mini")


async def test_api_version_and_request_deployment(server: FakeAzureServer) -> None:
    server.deployments["prod chat"] = "gpt-4o-2024-08-06"
    provider = make(server, deployment="", api_version="2024-06-01")
    assert provider.model_name == ""
    result = await provider.complete(ask("prod chat"))
    assert result.model == "azure:prod chat"
    path = server.chat_requests[-1].path
    assert path == "/openai/deployments/prod%20chat/chat/completions?api-version=2024-06-01"
    with pytest.raises(ConfigurationError, match="deployment"):
        await provider.complete(ask(""))


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_wrong_key_is_an_authentication_error(
    server: FakeAzureServer, streamed: bool
) -> None:
    provider = make(server, api_key="bad-key")
    with pytest.raises(AuthenticationError) as caught:
        await call(provider, ask(), streamed=streamed)
    assert caught.value.status == 401
    assert ACCESS_DENIED[:40] in str(caught.value)
    assert "bad-key" not in str(caught.value)


async def test_unknown_deployment_and_missing_version(server: FakeAzureServer) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        await make(server).complete(ask("nope"))
    assert caught.value.code == "DeploymentNotFound"
    with pytest.raises(ModelNotFoundError, match="Resource not found"):
        await make(server, api_version="1999-01-01").complete(ask())


async def test_rate_limit_carries_retry_after(server: FakeAzureServer) -> None:
    message = "Requests to the ChatCompletions_Create Operation have exceeded token rate limit."
    server.queue(Behaviour.error(429, message, code="429", headers={"Retry-After": "6"}))
    with pytest.raises(RateLimitError) as caught:
        await make(server).complete(ask())
    assert caught.value.retry_after == 6.0


async def test_filtered_prompt_is_a_clear_invalid_request(server: FakeAzureServer) -> None:
    server.queue(Behaviour.error(400, "filtered", code="content_filter"))
    with pytest.raises(InvalidRequestError) as caught:
        await make(server).complete(ask())
    assert caught.value.code == "content_filter"
    assert caught.value.status == 400
    assert "content filter blocked the prompt (violence)" in str(caught.value)


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "complete"])
async def test_filtered_answer_is_a_clear_invalid_request(
    server: FakeAzureServer, streamed: bool
) -> None:
    server.queue(Behaviour(text="partial", finish_reason="content_filter"))
    provider = make(server)
    with pytest.raises(InvalidRequestError, match="content filter blocked the answer") as caught:
        await call(provider, ask(), streamed=streamed)
    assert caught.value.code == "content_filter"


async def test_prompt_filter_results_chunk_is_skipped(server: FakeAzureServer) -> None:
    """Azure's first chunk has no choices, only the prompt's filter verdicts."""
    frames: list[Any] = [
        {
            "id": "",
            "choices": [],
            "created": 0,
            "model": "",
            "object": "",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
        },
        {
            "id": "c",
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": "ok"},
                    "finish_reason": None,
                    "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}},
                }
            ],
            "model": "gpt-4o-mini-2024-07-18",
        },
        {
            "id": "c",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "model": "gpt-4o-mini-2024-07-18",
        },
    ]
    server.queue(Behaviour(raw_frames=frames))
    chunks = await collect(make(server), ask())
    assert [c.text for c in chunks if isinstance(c, TextDelta)] == ["ok"]
    assert chunks[-1] == Done("stop", "azure:gpt-4o-mini")


async def test_list_models(server: FakeAzureServer) -> None:
    assert await make(server).list_models() == ["gpt-4o-mini-2024-07-18"]
    assert server.requests[-1].path == "/openai/models?api-version=2024-10-21"
    assert server.requests[-1].headers["api-key"] == KEY


def test_from_env() -> None:
    env = {
        "AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com",
        "AZURE_OPENAI_API_KEY": "k",
        "AZURE_OPENAI_API_VERSION": "2025-01-01-preview",
    }
    provider = AzureOpenAIProvider.from_env(env, "chat")
    assert (provider.transport.base_url, provider.model_name) == (
        env["AZURE_OPENAI_ENDPOINT"],
        "chat",
    )
    assert provider.api_version == "2025-01-01-preview"
    assert provider.transport.headers["api-key"] == "k"
    assert provider.name == "azure"
    with pytest.raises(ConfigurationError) as caught:
        AzureOpenAIProvider.from_env({}, "chat")
    assert "AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY" in str(caught.value)


@pytest.mark.parametrize(
    ("version", "usage"),
    [("2024-06-01", False), ("2024-02-15-preview", False), ("2024-10-21", True)],
)
async def test_stream_usage_is_asked_only_of_versions_that_know_it(
    server: FakeAzureServer, version: str, usage: bool
) -> None:
    """Versions before 2024-09-01 reject ``stream_options`` with a 400."""
    server.api_versions = (*server.api_versions, version)
    chunks = await collect(make(server, api_version=version), ask())
    assert "".join(c.text for c in chunks if isinstance(c, TextDelta))
    assert any(isinstance(c, UsageChunk) for c in chunks) is usage
    assert ("stream_options" in server.chat_requests[-1].body) is usage
