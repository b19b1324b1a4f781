"""Hosted embedding models through the provider clients (OpenAI-compatible, Gemini, Cohere).

The clients already speak each wire format and split large batches at their API's
documented per-request limit: OpenAI's ``/embeddings`` at 2048 inputs and 300,000
tokens (every OpenAI-compatible host goes through that client), Gemini's
``batchEmbedContents`` at 100, Cohere's ``/v2/embed`` at 96. Those are not split again
here. Mistral serves embeddings through the OpenAI-compatible client but accepts far
fewer inputs per request (past 256 it answers "Too many inputs in request, split into
more batches", as other clients measured against the live API) and caps a request at
about 16,000 tokens, so its batches are cut here first, within both.

What differs between the clients' answers (an :class:`~fluent_ai.results.Embeddings` of
tuples, or lists of floats) is normalised to the one ``(n, d)`` float32 array.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from fluent_ai.embeddings.base import Embedder, Vectors, as_vectors
from fluent_ai.errors import ConfigurationError, InvalidParameterError
from fluent_ai.models.catalogue import ModelInfo, bundled_catalogue
from fluent_ai.providers.base import Provider
from fluent_ai.results import Embeddings

__all__ = [
    "DEFAULT_EMBEDDING_MODELS",
    "EmbeddingClient",
    "ProviderEmbedder",
    "RequestLimits",
    "catalogued_dimensions",
]

#: The embedding model used when only a provider's name is given.
DEFAULT_EMBEDDING_MODELS: dict[str, str] = {
    "openai": "text-embedding-3-small",
    "gemini": "gemini-embedding-001",
    "cohere": "embed-v4.0",
    "mistral": "mistral-embed",
}


@runtime_checkable
class EmbeddingClient(Protocol):
    """A provider client with an embeddings endpoint (what every ``embed`` shares)."""

    async def embed(
        self, texts: Sequence[str], *, model: str, dimensions: int | None = None
    ) -> Embeddings | list[list[float]]: ...


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """How much one embeddings request may carry: inputs, and bytes of text.

    Bytes stand in for tokens (no provider tokenizer is available offline): at most
    ``max_bytes`` UTF-8 bytes keeps a request under the token cap, since a token covers
    more than ``tokens_cap / max_bytes`` bytes on any text.
    """

    max_inputs: int
    max_bytes: int

    def batches(self, texts: list[str]) -> Iterator[list[str]]:
        """``texts`` in order, cut into batches within both limits (a huge text alone)."""
        batch: list[str] = []
        size = 0
        for text in texts:
            length = len(text.encode())
            if batch and (len(batch) >= self.max_inputs or size + length > self.max_bytes):
                yield batch
                batch, size = [], 0
            batch.append(text)
            size += length
        if batch:
            yield batch


#: Providers whose client does not already split at the API's own limit (see above).
#: Mistral: 256 inputs; 16,000 tokens a request, taken as 3 bytes a token (low: safe).
PRESPLIT: dict[str, RequestLimits] = {
    "mistral": RequestLimits(max_inputs=256, max_bytes=48_000),
}


def catalogued_dimensions(provider: str, model: str) -> int | None:
    """The vector length the bundled catalogue records for ``provider:model``, if any."""
    info = bundled_catalogue().get(provider, model)
    return info.dimensions if info is not None else None


class ProviderEmbedder(Embedder):
    """Embeds with a hosted model through its provider client.

    ``model`` defaults to the provider's usual embedding model. ``dimensions`` asks the
    API for shorter vectors (OpenAI text-embedding-3, Gemini, Cohere embed-v4); without
    it the length comes from the catalogue (``info``, or the bundled one), or is learned
    from the first answer. Every answer is checked against it.
    ``owns_provider`` closes the client's connections in :meth:`aclose`.
    """

    def __init__(
        self,
        provider: Provider,
        model: str | None = None,
        *,
        dimensions: int | None = None,
        info: ModelInfo | None = None,
        owns_provider: bool = False,
    ) -> None:
        if not isinstance(provider, EmbeddingClient):
            raise ConfigurationError(
                f"{provider.name} has no embeddings API; use local, openai (or another "
                "OpenAI-compatible host), gemini, cohere or mistral",
                provider=provider.name,
            )
        name = model or DEFAULT_EMBEDDING_MODELS.get(provider.name, "")
        if not isinstance(name, str) or not name.strip():
            raise InvalidParameterError("model", f"{provider.name} needs an embedding model name")
        if dimensions is not None and (
            isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1
        ):
            raise InvalidParameterError(
                "dimensions", f"must be a positive integer, got {dimensions!r}"
            )
        self.provider = provider
        self.model = name
        self.model_id = f"{provider.name}:{name}"
        self._client: EmbeddingClient = provider
        self._requested = dimensions
        known = info.dimensions if info is not None else None
        self._dimensions = dimensions or known or catalogued_dimensions(provider.name, name) or 0
        self._limits = PRESPLIT.get(provider.name)
        self._owns = owns_provider

    @property
    def dimensions(self) -> int:
        return self._dimensions

    async def _embed(self, texts: list[str]) -> Vectors:
        batches = self._limits.batches(texts) if self._limits is not None else iter([texts])
        # One request after the other, as the clients do: a failure stops before more
        # tokens are spent, and the provider's concurrency limit stays free for chats.
        parts = [await self._request(batch) for batch in batches]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    async def _request(self, batch: list[str]) -> Vectors:
        answer = await self._client.embed(batch, model=self.model, dimensions=self._requested)
        rows = answer.vectors if isinstance(answer, Embeddings) else answer
        vectors = as_vectors(
            self.model_id,
            rows,
            count=len(batch),
            dimensions=self._dimensions,
            where=f"the answer of {self.provider.name}",
        )
        if not self._dimensions:
            self._dimensions = int(vectors.shape[1])  # learned from the first answer
        return vectors

    async def aclose(self) -> None:
        if self._owns:
            await self.provider.aclose()

    def __repr__(self) -> str:
        return f"ProviderEmbedder({self.model_id!r}, dimensions={self._dimensions})"
