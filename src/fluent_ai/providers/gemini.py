"""Client for Google's native Gemini API (``generativelanguage.googleapis.com``).

The native API rather than Google's OpenAI-compatible endpoint, for what it carries in
full: thought parts, thought signatures (which Gemini 3 requires back with function
calls), prompt feedback when a prompt is blocked, and file references for images.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fluent_ai.errors import (
    ConfigurationError,
    InvalidParameterError,
    MalformedResponseError,
    ProviderError,
    excerpt,
)
from fluent_ai.providers.base import Provider
from fluent_ai.providers.gemini_stream import ResponseReader, error_from_payload, parse_response
from fluent_ai.providers.gemini_wire import build_body
from fluent_ai.providers.streaming import retry_before_first_chunk
from fluent_ai.transport.http import HttpTransport, TransportConfig
from fluent_ai.transport.pool import ClientPool
from fluent_ai.transport.retry import parse_retry_after
from fluent_ai.types import ChatRequest, ChatResult, Chunk

if TYPE_CHECKING:
    import httpx2

__all__ = ["DEFAULT_BASE_URL", "GeminiProvider"]

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
# batchEmbedContents refuses more than 100 requests in one batch.
_EMBED_BATCH = 100
# A listing that keeps handing out page tokens is cut off after this many pages.
_MAX_PAGES = 100


class GeminiProvider(Provider):
    """Streams and completes chats over ``models/{model}:generateContent``.

    ``api_key`` goes in the ``x-goog-api-key`` header; ``headers`` are sent as well (an
    ``authorization`` header for a proxy, say). ``model`` is the model used when the
    provider is given to ``.model(...)`` directly.
    """

    name = "gemini"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        model: str = "",
        headers: Mapping[str, str] | None = None,
        config: TransportConfig | None = None,
        pool: ClientPool | None = None,
    ) -> None:
        self.model_name = model
        all_headers: dict[str, str] = {}
        if api_key:
            all_headers["x-goog-api-key"] = api_key
        all_headers.update(headers or {})
        self.transport = HttpTransport(
            base_url,
            provider=self.name,
            headers=all_headers,
            map_error=self._map_error,
            config=config,
            pool=pool,
        )

    def __repr__(self) -> str:
        return f"GeminiProvider(base_url={self.transport.base_url!r}, model={self.model_name!r})"

    def _map_error(self, status: int, headers: httpx2.Headers, body: str) -> ProviderError:
        """Google's error body (``{"error": {"code", "message", "status", "details"}}``,
        alone or as the first item of an array) as a typed error."""
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, list) and data:
            data = data[0]
        if not isinstance(data, dict) or "error" not in data:
            data = {"error": {"message": excerpt(body, 200) or f"HTTP {status}"}}
        retry_after = parse_retry_after(headers.get("retry-after"))
        return error_from_payload(
            data, provider=self.name, status=status, body=body, retry_after=retry_after
        )

    def _model(self, request: ChatRequest) -> str:
        model = request.model or self.model_name
        if not model:
            raise ConfigurationError(
                "gemini needs a model name: use gemini:MODEL", provider=self.name
            )
        return model

    async def complete(self, request: ChatRequest) -> ChatResult:
        model = self._model(request)
        body = build_body(request)
        data = await self.transport.request_json("POST", _path(model, "generateContent"), body)
        return parse_response(data, provider=self.name, model=_short(model))

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Stream the answer; an error event before the first chunk is retried."""
        return retry_before_first_chunk(
            lambda: self._stream_once(request), self.transport.config.retry
        )

    async def _stream_once(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        model = self._model(request)
        body = build_body(request)
        reader = ResponseReader(self.name, _short(model))
        path = _path(model, "streamGenerateContent") + "?alt=sse"
        async with aclosing(self.transport.stream_sse(path, body)) as events:
            async for event in events:
                payload = reader.decode(event.data)
                if event.event == "json" and isinstance(payload, list):
                    # Answered as the JSON array of responses (``alt=sse`` ignored).
                    for item in payload:
                        for chunk in reader.feed(item):
                            yield chunk
                    continue
                for chunk in reader.feed(payload):
                    yield chunk
        for chunk in reader.finish_chunks(streamed=True):
            yield chunk

    async def list_models(self) -> list[str]:
        """Every model of ``GET /models``, page after page, without the ``models/`` prefix."""
        names: list[str] = []
        token: str | None = None
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            path = "/models?pageSize=1000"
            if token:
                path += f"&pageToken={quote(token, safe='')}"
            data = await self.transport.request_json("GET", path)
            if not isinstance(data, dict) or not isinstance(data.get("models", []), list):
                raise self._malformed("the model listing has no list of models", data)
            for model in data.get("models", []):
                name = model.get("name") if isinstance(model, dict) else None
                if isinstance(name, str) and name:
                    names.append(name.removeprefix("models/"))
            token = data.get("nextPageToken")
            if not isinstance(token, str) or not token or token in seen:
                break
            seen.add(token)
        return names

    async def embed(
        self,
        texts: Sequence[str],
        *,
        model: str = "gemini-embedding-001",
        dimensions: int | None = None,
    ) -> list[list[float]]:
        """One embedding vector per text, via ``batchEmbedContents`` (100 texts a call)."""
        items = _checked_texts(texts)
        if dimensions is not None and (
            not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1
        ):
            raise InvalidParameterError(
                "dimensions", f"must be a positive integer, got {dimensions!r}"
            )
        resource, path = _resource(model), _path(model, "batchEmbedContents")
        vectors: list[list[float]] = []
        for start in range(0, len(items), _EMBED_BATCH):
            batch = items[start : start + _EMBED_BATCH]
            requests: list[dict[str, Any]] = []
            for text in batch:
                entry: dict[str, Any] = {"model": resource, "content": {"parts": [{"text": text}]}}
                if dimensions is not None:
                    entry["outputDimensionality"] = dimensions
                requests.append(entry)
            data = await self.transport.request_json("POST", path, {"requests": requests})
            vectors.extend(self._vectors(data, len(batch)))
        return vectors

    def _vectors(self, data: Any, expected: int) -> list[list[float]]:
        embeddings = data.get("embeddings") if isinstance(data, dict) else None
        if not isinstance(embeddings, list) or len(embeddings) != expected:
            raise self._malformed(f"expected {expected} embeddings", data)
        vectors: list[list[float]] = []
        for item in embeddings:
            values = item.get("values") if isinstance(item, dict) else None
            if not isinstance(values, list) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in values
            ):
                raise self._malformed("an embedding has no list of numbers", item)
            vectors.append([float(v) for v in values])
        return vectors

    def _malformed(self, what: str, data: Any) -> MalformedResponseError:
        return MalformedResponseError(
            f"{self.name}: {what}: {excerpt(repr(data), 120)}", provider=self.name, body=repr(data)
        )


def _resource(model: str) -> str:
    """The model's resource name: ``models/x`` (``tunedModels/y`` stays as given)."""
    return model if "/" in model else f"models/{model}"


def _short(model: str) -> str:
    return model.removeprefix("models/")


def _path(model: str, method: str) -> str:
    return f"/{quote(_resource(model), safe='/')}:{method}"


def _checked_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise InvalidParameterError("texts", "must be a list of strings")
    items = list(texts)
    if not items:
        raise InvalidParameterError("texts", "must not be empty")
    for index, text in enumerate(items):
        if not isinstance(text, str):
            raise InvalidParameterError(
                "texts", f"item {index} is {type(text).__name__}, not a string"
            )
    return items
