"""Client for Azure OpenAI: Chat Completions behind a deployment name and an ``api-version``.

The wire body and answers are OpenAI's, so this reuses the OpenAI-compatible reader;
what differs is the URL (``/openai/deployments/{deployment}/chat/completions``), the
``api-key`` header, and Azure's content filter, which blocks prompts or answers and is
reported here as an :class:`InvalidRequestError` naming the filtered categories.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fluent_ai.errors import (
    ConfigurationError,
    FluentAIError,
    InvalidRequestError,
    MalformedResponseError,
)
from fluent_ai.providers.base import chunks_of
from fluent_ai.providers.openai_compat import OpenAICompatibleProvider
from fluent_ai.providers.openai_stream import StreamState
from fluent_ai.providers.openai_wire import map_http_error, parse_completion
from fluent_ai.providers.streaming import drain
from fluent_ai.transport.http import ErrorMapper, TransportConfig
from fluent_ai.transport.pool import ClientPool
from fluent_ai.types import ChatRequest, ChatResult, Chunk, Done

if TYPE_CHECKING:
    import httpx2

__all__ = ["DEFAULT_API_VERSION", "AzureOpenAIProvider"]

#: The current GA data-plane version.
DEFAULT_API_VERSION = "2024-10-21"
ENDPOINT_VAR, KEY_VAR, VERSION_VAR = (
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_API_VERSION",
)
_FILTERED = "content_filter"
# Dated api-versions before this one reject ``stream_options`` (Azure answers 400
# "Unrecognized request argument supplied"), so their streams go without usage.
_STREAM_OPTIONS_SINCE = "2024-09-01"


class AzureOpenAIProvider(OpenAICompatibleProvider):
    """Streams and completes chats with one Azure OpenAI resource.

    ``deployment`` names the model (the request's model, when given, is the deployment
    to call), so results report ``azure:<deployment>`` whatever model the deployment
    runs.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        deployment: str = "",
        api_key: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        config: TransportConfig | None = None,
        pool: ClientPool | None = None,
    ) -> None:
        super().__init__(
            name="azure",
            base_url=endpoint,
            headers={"api-key": api_key} if api_key else None,
            model=deployment,
            stream_usage=_knows_stream_options(api_version),
            config=config,
            pool=pool,
        )
        self.api_version = api_version
        self.transport.map_error = _map_error(self.name, map_http_error(self.name))
        self._query = f"api-version={quote(api_version, safe='')}"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], deployment: str = "", **options: Any
    ) -> AzureOpenAIProvider:
        """Built from ``AZURE_OPENAI_ENDPOINT``, ``_API_KEY`` and ``_API_VERSION``."""
        endpoint, key = env.get(ENDPOINT_VAR), env.get(KEY_VAR)
        missing = [name for name, value in ((ENDPOINT_VAR, endpoint), (KEY_VAR, key)) if not value]
        if missing:
            raise ConfigurationError(f"azure needs {' and '.join(missing)}", provider="azure")
        return cls(
            endpoint=str(endpoint),
            deployment=deployment,
            api_key=key,
            api_version=env.get(VERSION_VAR) or DEFAULT_API_VERSION,
            **options,
        )

    def __repr__(self) -> str:
        return (
            f"AzureOpenAIProvider(endpoint={self.transport.base_url!r}, "
            f"deployment={self.model_name!r}, api_version={self.api_version!r})"
        )

    def _deployment(self, request: ChatRequest) -> str:
        deployment = request.model or self.model_name
        if not deployment:
            raise ConfigurationError(
                "azure needs a deployment name: use azure:DEPLOYMENT", provider=self.name
            )
        return deployment

    def _path(self, deployment: str) -> str:
        return f"/openai/deployments/{quote(deployment, safe='')}/chat/completions?{self._query}"

    def _body(self, request: ChatRequest, *, stream: bool) -> dict[str, object]:
        body = super()._body(request, stream=stream)
        body.pop("model", None)  # the deployment in the URL names the model
        return body

    async def complete(self, request: ChatRequest) -> ChatResult:
        deployment = self._deployment(request)
        body = self._body(request, stream=False)
        data = await self.transport.request_json("POST", self._path(deployment), body)
        result = parse_completion(data, provider=self.name, model=deployment)
        if result.finish_reason == _FILTERED:
            raise _filtered(self.name, _choice_filters(data), answer=True)
        return dataclasses.replace(result, model=f"{self.name}:{deployment}")

    async def _stream_once(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        deployment = self._deployment(request)
        body = self._body(request, stream=True)
        state = StreamState(self.name, deployment)
        saw_done = False
        closing: list[Chunk] = []
        events = self.transport.stream_sse(self._path(deployment), body)
        async with aclosing(events) as stream:
            async for event in stream:
                if event.data == "[DONE]":
                    saw_done = True
                    await drain(stream)
                    break
                if event.event == "json":  # the host ignored "stream": one whole answer
                    answer = parse_completion(
                        state.decode(event.data), provider=self.name, model=deployment
                    )
                    closing = list(chunks_of(answer))
                    break
                for chunk in state.feed(state.decode(event.data)):
                    yield chunk
        for chunk in closing or state.finish(saw_done_marker=saw_done):
            if isinstance(chunk, Done):
                if chunk.finish_reason == _FILTERED:
                    raise _filtered(self.name, {}, answer=True)
                chunk = Done(chunk.finish_reason, f"{self.name}:{deployment}")
            yield chunk

    async def list_models(self) -> list[str]:
        """Model ids from ``GET /openai/models`` (what the resource can deploy)."""
        data = await self.transport.request_json("GET", f"/openai/models?{self._query}")
        try:
            return [str(m["id"]) for m in data["data"]]
        except (KeyError, TypeError) as exc:
            raise MalformedResponseError(
                f"{self.name}: model listing has no data[].id",
                provider=self.name,
                body=json.dumps(data)[:300],
            ) from exc


def _knows_stream_options(api_version: str) -> bool:
    """Whether ``api_version`` accepts ``stream_options`` (undated ones such as ``v1`` do)."""
    date = api_version[:10]
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        return True
    return date >= _STREAM_OPTIONS_SINCE


def _map_error(provider: str, openai_mapper: ErrorMapper) -> ErrorMapper:
    """OpenAI's reading of error bodies, with Azure's content-filter refusals made clear."""

    def mapper(status: int, headers: httpx2.Headers, body: str) -> FluentAIError:
        error = openai_mapper(status, headers, body)
        if status == 400 and getattr(error, "code", None) == _FILTERED:
            try:
                inner = json.loads(body)["error"].get("innererror") or {}
                filters = inner.get("content_filter_result") or {}
            except (ValueError, KeyError, TypeError, AttributeError):
                filters = {}
            return _filtered(provider, filters, answer=False, body=body)
        return error

    return mapper


def _choice_filters(data: Any) -> Mapping[str, Any]:
    """The ``content_filter_results`` of a non-streamed answer's first choice."""
    try:
        results = data["choices"][0].get("content_filter_results") or {}
    except (KeyError, IndexError, TypeError, AttributeError):
        return {}
    return results if isinstance(results, Mapping) else {}


def _filtered(
    provider: str, filters: Mapping[str, Any], *, answer: bool, body: str = ""
) -> InvalidRequestError:
    """The error for a prompt (or answer) that Azure's content filter blocked."""
    categories = sorted(
        name
        for name, verdict in filters.items()
        if isinstance(verdict, Mapping) and verdict.get("filtered")
    )
    which = f" ({', '.join(categories)})" if categories else ""
    what = "the answer" if answer else "the prompt"
    return InvalidRequestError(
        f"{provider}: Azure's content filter blocked {what}{which}; rephrase the request "
        "or adjust the deployment's content filtering policy",
        provider=provider,
        status=400 if not answer else None,
        body=body,
        code=_FILTERED,
    )
