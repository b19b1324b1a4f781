"""Client for Cohere's native Chat v2 API, its model listing and its embeddings.

The native API rather than Cohere's OpenAI-compatible endpoint: only the native one
streams the tool plan apart from the answer, reports billed units, and serves every
Command model feature (documents, citations, safety modes) through ``extra``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from typing import Any
from urllib.parse import urlencode

from fluent_ai.errors import InvalidParameterError, MalformedResponseError
from fluent_ai.providers.base import Provider, chunks_of
from fluent_ai.providers.cohere_stream import CohereStreamState
from fluent_ai.providers.cohere_wire import PROVIDER, build_body, map_http_error, parse_chat
from fluent_ai.providers.streaming import drain, retry_before_first_chunk
from fluent_ai.transport.http import HttpTransport, TransportConfig
from fluent_ai.transport.pool import ClientPool
from fluent_ai.types import ChatRequest, ChatResult, Chunk

__all__ = ["CohereProvider"]

_CHAT_PATH = "/v2/chat"
_EMBED_PATH = "/v2/embed"
_MODELS_PATH = "/v1/models"
# The embed endpoint takes at most 96 texts per call; longer lists are sent in batches.
_EMBED_BATCH = 96
# Models per listing page (the API's maximum), and a bound on pages so a server that
# keeps handing out tokens cannot keep ``list_models`` looping.
_MODELS_PAGE_SIZE = 1000
_MAX_MODEL_PAGES = 50


class CohereProvider(Provider):
    """Streams and completes chats over ``POST {base_url}/v2/chat``.

    ``model`` is the model sent when the provider is given to ``.model(...)`` directly.
    The ``tool_plan`` the model writes before calling tools arrives as thinking
    (``ThinkingDelta``, ``ChatResult.thinking``): it is the model planning, not the answer.
    No environment variable is read here: the caller resolves the key. Without a key
    no ``Authorization`` header is sent (for a proxy that adds its own).
    """

    name = PROVIDER

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str = "https://api.cohere.com",
        model: str = "",
        headers: Mapping[str, str] | None = None,
        config: TransportConfig | None = None,
        pool: ClientPool | None = None,
    ) -> None:
        self.model_name = model
        all_headers = {"content-type": "application/json"}
        if api_key:
            all_headers["authorization"] = f"Bearer {api_key}"
        all_headers.update(headers or {})
        self.transport = HttpTransport(
            base_url,
            provider=PROVIDER,
            headers=all_headers,
            map_error=map_http_error,
            config=config,
            pool=pool,
        )

    def __repr__(self) -> str:
        return f"CohereProvider(base_url={self.transport.base_url!r}, model={self.model_name!r})"

    async def complete(self, request: ChatRequest) -> ChatResult:
        body = build_body(request, stream=False)
        data = await self.transport.request_json("POST", _CHAT_PATH, body)
        return parse_chat(data, model=request.model)

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Stream the answer; an error event before the first chunk is retried."""
        return retry_before_first_chunk(
            lambda: self._stream_once(request), self.transport.config.retry
        )

    async def _stream_once(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        body = build_body(request, stream=True)
        state = CohereStreamState(request.model)
        async with aclosing(self.transport.stream_sse(_CHAT_PATH, body)) as events:
            async for event in events:
                if event.event == "json":  # the server ignored "stream": one whole answer
                    answer = parse_chat(state.decode(event.data), model=request.model)
                    for chunk in chunks_of(answer):
                        yield chunk
                    return
                if not event.data.strip():
                    continue
                for chunk in state.feed(state.decode(event.data), event.event):
                    yield chunk
                if state.done:
                    await drain(events)
                    break
        for chunk in state.finish():
            yield chunk

    async def list_models(self) -> list[str]:
        """Names of the chat-capable models, from every page of ``GET /v1/models``."""
        names: dict[str, None] = {}
        token: str | None = None
        seen: set[str] = set()
        for _ in range(_MAX_MODEL_PAGES):
            query = {"endpoint": "chat", "page_size": str(_MODELS_PAGE_SIZE)}
            if token:
                query["page_token"] = token
            data = await self.transport.request_json("GET", f"{_MODELS_PATH}?{urlencode(query)}")
            page, token = _models_page(data)
            names.update(dict.fromkeys(page))
            if not token or token in seen:
                break
            seen.add(token)
        return list(names)

    async def embed(
        self,
        texts: Sequence[str],
        *,
        model: str = "embed-v4.0",
        input_type: str = "search_document",
        dimensions: int | None = None,
    ) -> list[list[float]]:
        """One float vector per text, in order, from ``POST /v2/embed``.

        ``input_type`` tells the model what the texts are for (``search_document``,
        ``search_query``, ``classification``, ``clustering``); ``dimensions`` asks
        embed-v4 models for shorter vectors (``output_dimension``).
        """
        items = _check_embed_args(texts, model, input_type, dimensions)
        vectors: list[list[float]] = []
        for start in range(0, len(items), _EMBED_BATCH):
            batch = items[start : start + _EMBED_BATCH]
            body: dict[str, Any] = {
                "texts": batch,
                "model": model,
                "input_type": input_type,
                "embedding_types": ["float"],
            }
            if dimensions is not None:
                body["output_dimension"] = dimensions
            data = await self.transport.request_json("POST", _EMBED_PATH, body)
            vectors.extend(_float_embeddings(data, expected=len(batch)))
        return vectors


def _check_embed_args(
    texts: Sequence[str], model: str, input_type: str, dimensions: int | None
) -> list[str]:
    """The texts as a list, after refusing what the API would reject less clearly."""
    if isinstance(texts, str | bytes) or not isinstance(texts, Sequence):
        raise InvalidParameterError("texts", "must be a list of strings, not a single value")
    items = list(texts)
    if not items:
        raise InvalidParameterError("texts", "must contain at least one text")
    for position, text in enumerate(items):
        if not isinstance(text, str):
            kind = type(text).__name__
            raise InvalidParameterError("texts", f"item {position} is a {kind}, not a string")
    if not isinstance(model, str) or not model:
        raise InvalidParameterError("model", "must name an embedding model")
    if not isinstance(input_type, str) or not input_type:
        raise InvalidParameterError("input_type", "must be a non-empty string")
    if dimensions is not None and (
        isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions <= 0
    ):
        raise InvalidParameterError("dimensions", "must be a positive integer")
    return items


def _malformed(what: str) -> MalformedResponseError:
    return MalformedResponseError(f"{PROVIDER}: {what}", provider=PROVIDER)


def _models_page(data: Any) -> tuple[list[str], str | None]:
    """(chat model names, next page token) from one listing page.

    The ``endpoint=chat`` filter is asked of the server; a model whose ``endpoints`` are
    listed without ``chat`` is still left out, in case a server ignores the filter.
    """
    models = data.get("models") if isinstance(data, Mapping) else None
    if not isinstance(models, list):
        raise _malformed("model listing has no models list")
    names: list[str] = []
    for entry in models:
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if not isinstance(name, str) or not name:
            raise _malformed("model listing entry without a name")
        endpoints = entry.get("endpoints")
        if isinstance(endpoints, list) and "chat" not in endpoints:
            continue
        names.append(name)
    token = data.get("next_page_token")
    return names, token if isinstance(token, str) and token else None


def _float_embeddings(data: Any, *, expected: int) -> list[list[float]]:
    """``embeddings.float`` of an embed answer, checked to hold one vector per text."""
    embeddings = data.get("embeddings") if isinstance(data, Mapping) else None
    vectors = embeddings.get("float") if isinstance(embeddings, Mapping) else None
    if not isinstance(vectors, list) or len(vectors) != expected:
        raise _malformed(f"embed answer does not hold {expected} float vectors")
    out: list[list[float]] = []
    for vector in vectors:
        if not isinstance(vector, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in vector
        ):
            raise _malformed("embed answer holds a vector that is not a list of numbers")
        out.append([float(v) for v in vector])
    return out
