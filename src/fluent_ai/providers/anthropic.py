"""Client for Anthropic's native Messages API (``POST /v1/messages``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any
from urllib.parse import quote

from fluent_ai.errors import MalformedResponseError, excerpt
from fluent_ai.models.catalogue import bundled_catalogue
from fluent_ai.providers.anthropic_request import build_body
from fluent_ai.providers.anthropic_stream import StreamState
from fluent_ai.providers.anthropic_wire import map_http_error, parse_message
from fluent_ai.providers.base import Provider, chunks_of
from fluent_ai.providers.streaming import drain, retry_before_first_chunk
from fluent_ai.transport.http import HttpTransport, TransportConfig
from fluent_ai.transport.pool import ClientPool
from fluent_ai.types import ChatRequest, ChatResult, Chunk

__all__ = ["AnthropicProvider"]

_MESSAGES = "/v1/messages"
# The most models one listing page may hold (the API's documented maximum).
_PAGE_LIMIT = 1000


class AnthropicProvider(Provider):
    """Streams and completes chats with Claude over the Messages API.

    ``version`` is the ``anthropic-version`` header the API requires; ``headers`` adds
    or overrides headers (``anthropic-beta`` …); ``model`` is the model sent when the
    provider is given to ``.model(...)`` directly. The key is sent as ``x-api-key``.
    """

    name = "anthropic"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str = "https://api.anthropic.com",
        model: str = "",
        version: str = "2023-06-01",
        headers: Mapping[str, str] | None = None,
        config: TransportConfig | None = None,
        pool: ClientPool | None = None,
    ) -> None:
        self.model_name = model
        all_headers = {"content-type": "application/json", "anthropic-version": version}
        if api_key:
            all_headers["x-api-key"] = api_key
        all_headers.update(headers or {})
        self.transport = HttpTransport(
            base_url,
            provider=self.name,
            headers=all_headers,
            map_error=map_http_error(self.name),
            config=config,
            pool=pool,
        )
        # Requests default max_tokens from the catalogue: read its file now, while the
        # caller is still synchronous, never inside the event loop.
        bundled_catalogue()

    def __repr__(self) -> str:
        return f"AnthropicProvider(base_url={self.transport.base_url!r}, model={self.model_name!r})"

    async def complete(self, request: ChatRequest) -> ChatResult:
        body = build_body(request, stream=False)
        data = await self.transport.request_json("POST", _MESSAGES, body)
        return parse_message(data, provider=self.name, model=request.model)

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Stream the answer; an error event before the first chunk is retried."""
        return retry_before_first_chunk(
            lambda: self._stream_once(request), self.transport.config.retry
        )

    async def _stream_once(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        body = build_body(request, stream=True)
        state = StreamState(self.name, request.model)
        async with aclosing(self.transport.stream_sse(_MESSAGES, body)) as events:
            async for event in events:
                if event.event == "json":  # the host ignored "stream": one whole answer
                    answer = parse_message(
                        state.decode(event.data), provider=self.name, model=request.model
                    )
                    for chunk in chunks_of(answer):
                        yield chunk
                    return
                for chunk in state.feed(state.decode(event.data)):
                    yield chunk
                if state.stopped:
                    await drain(events)
                    break
        for chunk in state.finish():
            yield chunk

    async def list_models(self) -> list[str]:
        """Every model id ``GET /v1/models`` reports, following its pages to the end."""
        names: list[str] = []
        path = f"/v1/models?limit={_PAGE_LIMIT}"
        while True:
            page = await self.transport.request_json("GET", path)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise self._bad_listing(page)
            names.extend(str(m["id"]) for m in data if isinstance(m, dict) and m.get("id"))
            last = page.get("last_id")
            if not page.get("has_more"):
                return names
            if not isinstance(last, str) or not last or not data:
                raise self._bad_listing(page)
            path = f"/v1/models?limit={_PAGE_LIMIT}&after_id={quote(last, safe='')}"

    def _bad_listing(self, page: Any) -> MalformedResponseError:
        return MalformedResponseError(
            f"{self.name}: model listing does not follow the documented format: "
            f"{excerpt(repr(page), 120)}",
            provider=self.name,
        )
