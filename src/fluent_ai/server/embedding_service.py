"""Embedders for ``POST /v1/embeddings``: one per (model, dimensions), built at first use.

``local`` (or ``local:all-minilm-l6-v2``) is the embedded MiniLM model, offline; any
other string is resolved like a chat model and must name an embedding model of a
provider configured here (a bare ``openai`` / ``cohere`` / ``gemini`` / ``mistral`` means
its usual embedding model). :func:`fluent_ai.embeddings.embedder` builds them; this
module checks the string first so a chat model is a 400 and a provider without a key a
404, and keeps a bounded number of embedders alive between requests.

Embedders report no token counts, so ``usage`` (and the rate limiter's charge) is the
documented offline estimate of :mod:`fluent_ai.models.tokens`: one token per 4 bytes.
"""

from __future__ import annotations

import asyncio
import base64
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from fluent_ai.embeddings import Embedder, Vectors, embedder
from fluent_ai.embeddings.local import LOCAL_MODEL_ID
from fluent_ai.embeddings.remote import DEFAULT_EMBEDDING_MODELS
from fluent_ai.errors import InvalidParameterError, RequestTimeoutError
from fluent_ai.runtime import Runtime
from fluent_ai.server.errors import ModelUnavailableError
from fluent_ai.server.model_policy import check_model_spec

__all__ = ["EmbeddingService", "embeddings_json", "text_tokens"]

_CACHED = 32


class EmbeddingService:
    """Embeds texts with the model a request names, within ``timeout`` seconds."""

    def __init__(self, runtime: Runtime, *, timeout: float) -> None:
        self.runtime = runtime
        self.timeout = timeout
        self._embedders: OrderedDict[tuple[str, int | None], Embedder] = OrderedDict()

    def _check(self, spec: str) -> None:
        """Refuse before building: a chat model (400), a provider without a key (404)."""
        if spec.lower() in ("local", LOCAL_MODEL_ID):
            return
        check_model_spec(spec)
        provider, _, name = spec.partition(":")
        if provider in DEFAULT_EMBEDDING_MODELS and not name.strip():
            spec = f"{provider}:{DEFAULT_EMBEDDING_MODELS[provider]}"
        ref = self.runtime.lookup(spec)
        if ref.info is not None and ref.info.kind != "embedding":
            raise InvalidParameterError(
                "model", f"{ref.spec} is a {ref.info.kind} model, not an embedding model"
            )
        if not self.runtime.registry.is_configured(ref.provider, self.runtime.env):
            raise ModelUnavailableError(
                f"model {spec!r} is not available on this server: {ref.provider} is not "
                "configured (no API key or URL)"
            )

    async def embedder(self, spec: str, dimensions: int | None) -> Embedder:
        key = (spec, dimensions)
        found = self._embedders.get(key)
        if found is not None:
            self._embedders.move_to_end(key)
            return found
        self._check(spec)
        built = await asyncio.to_thread(embedder, spec, dimensions=dimensions)
        self._embedders[key] = built
        if len(self._embedders) > _CACHED:
            _, evicted = self._embedders.popitem(last=False)
            await evicted.aclose()
        return built

    async def embed(self, model: Embedder, texts: Sequence[str]) -> Vectors:
        """The vectors of ``texts`` by ``model`` (from :meth:`embedder`), within the timeout."""
        try:
            async with asyncio.timeout(self.timeout):
                return await model.embed(texts)
        except TimeoutError:
            raise RequestTimeoutError(
                f"{model.model_id} did not answer within {self.timeout:g} s "
                "(server.upstream_timeout)"
            ) from None

    async def aclose(self) -> None:
        embedders = list(self._embedders.values())
        self._embedders.clear()
        for each in embedders:
            await each.aclose()


def text_tokens(texts: Iterable[str]) -> int:
    """The documented offline estimate (:mod:`fluent_ai.models.tokens`): 4 bytes a token."""
    return sum(-(-len(text.encode("utf-8")) // 4) for text in texts)


def embeddings_json(
    vectors: np.ndarray[Any, Any], model: str, *, encoding: str, tokens: int
) -> dict[str, Any]:
    """An ``/embeddings`` answer: floats, or base64 of little-endian float32 per vector."""
    rows = np.ascontiguousarray(vectors, dtype="<f4")
    data: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        embedding: list[float] | str = (
            base64.b64encode(row.tobytes()).decode("ascii")
            if encoding == "base64"
            else row.tolist()
        )
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
