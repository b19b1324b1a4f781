"""Client for OpenAI's Chat Completions API and every host that speaks it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing

from fluent_ai.providers.base import Provider, chunks_of
from fluent_ai.providers.openai_wire import (
    StreamState,
    build_body,
    map_http_error,
    parse_completion,
)
from fluent_ai.transport.http import HttpTransport, TransportConfig
from fluent_ai.transport.pool import ClientPool
from fluent_ai.types import ChatRequest, ChatResult, Chunk

__all__ = ["OpenAICompatibleProvider"]

# OpenAI's reasoning models reject ``max_tokens`` and want ``max_completion_tokens``.
_COMPLETION_TOKENS_PREFIXES = ("o1", "o3", "o4", "gpt-5")


class OpenAICompatibleProvider(Provider):
    """Streams and completes chats over ``POST {base_url}/chat/completions``."""

    def __init__(
        self,
        *,
        name: str = "openai",
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        config: TransportConfig | None = None,
        pool: ClientPool | None = None,
    ) -> None:
        self.name = name
        all_headers = {"content-type": "application/json"}
        if api_key:
            all_headers["authorization"] = f"Bearer {api_key}"
        all_headers.update(headers or {})
        self.transport = HttpTransport(
            base_url,
            provider=name,
            headers=all_headers,
            map_error=map_http_error(name),
            config=config,
            pool=pool,
        )

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider(name={self.name!r}, base_url={self.transport.base_url!r})"

    def _max_tokens_field(self, model: str) -> str:
        if self.name == "openai" and model.startswith(_COMPLETION_TOKENS_PREFIXES):
            return "max_completion_tokens"
        return "max_tokens"

    async def complete(self, request: ChatRequest) -> ChatResult:
        body = build_body(
            request, stream=False, max_tokens_field=self._max_tokens_field(request.model)
        )
        data = await self.transport.request_json("POST", "/chat/completions", body)
        return parse_completion(data, provider=self.name, model=request.model)

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        body = build_body(
            request, stream=True, max_tokens_field=self._max_tokens_field(request.model)
        )
        state = StreamState(self.name, request.model)
        saw_done = False
        async with aclosing(self.transport.stream_sse("/chat/completions", body)) as events:
            async for event in events:
                if event.data == "[DONE]":
                    saw_done = True
                    break
                if event.event == "json":  # the host ignored "stream": one whole answer
                    answer = parse_completion(
                        state.decode(event.data), provider=self.name, model=request.model
                    )
                    for chunk in chunks_of(answer):
                        yield chunk
                    return
                for chunk in state.feed(state.decode(event.data)):
                    yield chunk
        for chunk in state.finish(saw_done_marker=saw_done):
            yield chunk
