"""``embedder("openai:text-embedding-3-small")``: an embedder from a model string.

``None``, ``"local"`` or ``"local:all-minilm-l6-v2"`` is the embedded model, so the
default works offline. Anything else is resolved like a chat model (``provider:model``,
a bare catalogued name, an alias, a glob rule) by the runtime, whose settings and
environment also supply the key, base URL, timeouts and retries; a bare provider name
(``"cohere"``) means its usual embedding model. A model the catalogue lists as a chat
model is refused before anything is sent.
"""

from __future__ import annotations

from fluent_ai.embeddings.base import Embedder
from fluent_ai.embeddings.cache import EmbeddingCache
from fluent_ai.embeddings.cached import CachedEmbedder
from fluent_ai.embeddings.local import (
    DEFAULT_BATCH_SIZE,
    LOCAL_DIMENSIONS,
    LOCAL_MODEL_ID,
    LOCAL_MODEL_NAME,
    LocalEmbedder,
)
from fluent_ai.embeddings.remote import (
    DEFAULT_EMBEDDING_MODELS,
    ProviderEmbedder,
    catalogued_dimensions,
)
from fluent_ai.errors import ConfigurationError, InvalidParameterError

__all__ = ["embedder", "known_dimensions"]


def known_dimensions(model_id: str) -> int | None:
    """The vector length of ``model_id`` (``provider:model``) when known without a call.

    What a vector store records when it is created, to refuse vectors of another model
    later. ``None`` for models whose length is only learned from their first answer.
    """
    provider, _, name = model_id.partition(":")
    if provider == "local" and name in ("", LOCAL_MODEL_NAME):
        return LOCAL_DIMENSIONS
    return catalogued_dimensions(provider, name)


def embedder(
    spec: str | None = None,
    *,
    dimensions: int | None = None,
    threads: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    cache: EmbeddingCache | None = None,
) -> Embedder:
    """The embedder ``spec`` names, wrapped in ``cache`` when one is given.

    ``threads`` and ``batch_size`` apply to the local model; ``dimensions`` asks a hosted
    model for shorter vectors where its API allows it.
    """
    if spec is not None and not isinstance(spec, str):
        raise InvalidParameterError("spec", f"must be a model string or None, got {spec!r}")
    text = (spec or "local").strip()
    inner: Embedder
    if text.lower() in ("local", LOCAL_MODEL_ID):
        if dimensions not in (None, LOCAL_DIMENSIONS):
            raise InvalidParameterError(
                "dimensions", f"the local model's vectors have {LOCAL_DIMENSIONS} dimensions"
            )
        inner = LocalEmbedder(threads, batch_size)
    else:
        inner = _hosted(text, dimensions)
    return inner if cache is None else CachedEmbedder(inner, cache)


def _hosted(spec: str, dimensions: int | None) -> Embedder:
    from fluent_ai.runtime import get_runtime

    if spec.startswith("local:"):
        raise ConfigurationError(
            f"the only local embedding model is {LOCAL_MODEL_ID}, got {spec!r}", provider="local"
        )
    runtime = get_runtime()
    provider, _, name = spec.partition(":")
    if provider in DEFAULT_EMBEDDING_MODELS and not name.strip():
        spec = f"{provider}:{DEFAULT_EMBEDDING_MODELS[provider]}"
    elif not name.strip() and provider in runtime.resolver.providers:
        raise ConfigurationError(
            f"{provider} has no default embedding model: name one, as {provider}:MODEL",
            provider=provider,
        )
    ref = runtime.lookup(spec)
    if ref.info is not None and ref.info.kind != "embedding":
        raise ConfigurationError(
            f"{ref.spec} is a {ref.info.kind} model, not an embedding model "
            f"(e.g. {', '.join(f'{p}:{m}' for p, m in DEFAULT_EMBEDDING_MODELS.items())})",
            provider=ref.provider,
        )
    target = runtime.build(ref)
    return ProviderEmbedder(
        target.provider, target.model, dimensions=dimensions, info=ref.info, owns_provider=True
    )
