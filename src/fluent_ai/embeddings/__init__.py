"""Embeddings: texts to float32 vectors, locally or through a hosted model, cached.

``embedder()`` is the embedded all-MiniLM-L6-v2 (offline); ``embedder("openai")``,
``"gemini:gemini-embedding-001"``, ``"cohere:embed-v4.0"``, ``"mistral:mistral-embed"``
reach hosted models. ``CachedEmbedder`` in front of any of them embeds each text once
per model, remembering vectors in memory and, given a backend, in a store.

onnxruntime and the tokenizer load only when the local model first embeds, so importing
this package costs numpy and nothing heavier.
"""

from __future__ import annotations

from fluent_ai.embeddings.base import DimensionMismatchError, Embedder, Vectors
from fluent_ai.embeddings.cache import CacheStats, EmbeddingCache, EmbeddingCacheBackend, text_key
from fluent_ai.embeddings.cached import CachedEmbedder
from fluent_ai.embeddings.factory import embedder, known_dimensions
from fluent_ai.embeddings.local import LOCAL_DIMENSIONS, LOCAL_MODEL_ID, LocalEmbedder
from fluent_ai.embeddings.remote import DEFAULT_EMBEDDING_MODELS, ProviderEmbedder

__all__ = [
    "DEFAULT_EMBEDDING_MODELS",
    "LOCAL_DIMENSIONS",
    "LOCAL_MODEL_ID",
    "CacheStats",
    "CachedEmbedder",
    "DimensionMismatchError",
    "Embedder",
    "EmbeddingCache",
    "EmbeddingCacheBackend",
    "LocalEmbedder",
    "ProviderEmbedder",
    "Vectors",
    "embedder",
    "known_dimensions",
    "text_key",
]
