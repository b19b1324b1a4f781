"""The server's memory: one opened store, one embedder, a manager per namespace.

A :class:`~fluent_ai.memory.manager.MemoryManager` is cheap (it holds no connection of
its own), but the store and the embedder are not: the store keeps a pool or a worker
thread, the local embedder an ONNX session. So the app opens one store and one embedder
at start-up (:func:`open_memory_service`), every namespace's manager shares them, and
the embedding cache persists into that store once for all of them. The embedder runs
in worker threads (``LocalEmbedder`` uses ``asyncio.to_thread``; hosted ones are async
HTTP), so recall never blocks the event loop.

Each caller owns one namespace, named after its credential (:func:`caller_namespace`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from typing import TYPE_CHECKING, Final

from fluent_ai.embeddings import CachedEmbedder, Embedder, EmbeddingCache
from fluent_ai.embeddings import embedder as make_embedder
from fluent_ai.memory.factory import open_store
from fluent_ai.memory.manager import MemoryManager
from fluent_ai.memory.store import MemoryStore
from fluent_ai.server.rest_common import IDENTIFIER

if TYPE_CHECKING:
    from fluent_ai.auth.principal import Principal
    from fluent_ai.config import Settings

__all__ = ["MemoryService", "caller_namespace", "open_memory_service"]

#: Managers kept ready; more namespaces than this just rebuild theirs (it costs nothing).
MAX_MANAGERS: Final = 1024


def caller_namespace(principal: Principal) -> str:
    """The memory namespace of a caller: its ``limit_key`` when that is a valid namespace.

    ``key:ci`` (an API key named ``ci``) and ``jwt:user@example.com`` are used as they
    are. A subject with other characters (``jwt:auth0|42``) or too long for a namespace
    maps to ``<kind>-sha256:<first 32 hex digits of sha256(limit_key)>``. The two forms
    cannot collide: a plain one always starts with ``key:`` or ``jwt:``.
    """
    key = principal.limit_key
    if IDENTIFIER.fullmatch(key):
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{principal.kind}-sha256:{digest}"


class MemoryService:
    """Memory managers over one shared store and embedder (``ServerState.parts["memory"]``).

    The service owns both: :meth:`aclose` closes the store and releases the embedder.
    """

    def __init__(self, store: MemoryStore, embedder: Embedder, *, cache_entries: int = 10_000):
        self.store = store
        cached = (
            embedder
            if isinstance(embedder, CachedEmbedder)
            else CachedEmbedder(embedder, EmbeddingCache(cache_entries, backend=store))
        )
        self.embedder: Embedder = cached
        self._managers: OrderedDict[str, MemoryManager] = OrderedDict()

    def __repr__(self) -> str:
        return f"MemoryService(store={self.store!r}, embedder={self.embedder!r})"

    def manager(self, namespace: str) -> MemoryManager:
        """The manager of ``namespace`` (an ``InvalidParameterError`` naming ``namespace``
        when it breaks the namespace rule)."""
        found = self._managers.get(namespace)
        if found is not None:
            self._managers.move_to_end(namespace)
            return found
        made = MemoryManager(self.store, self.embedder, namespace=namespace)
        self._managers[namespace] = made
        if len(self._managers) > MAX_MANAGERS:
            self._managers.popitem(last=False)
        return made

    async def aclose(self) -> None:
        """Close the store and release the embedder (managers need no closing)."""
        self._managers.clear()
        try:
            await self.store.close()
        finally:
            await self.embedder.aclose()


async def open_memory_service(
    settings: Settings,
    *,
    store: MemoryStore | None = None,
    embedder: Embedder | None = None,
) -> MemoryService:
    """Open the store ``settings.memory_store`` names (``memory.db`` under ``settings.home``
    by default) with the ``settings.embedding_model`` embedder, ready to serve.

    ``store`` / ``embedder`` replace the configured ones (tests, embedding apps); the
    service owns whatever it is given.
    """
    chosen = store or open_store(settings.memory_store or settings.home / "memory.db")
    if embedder is None:
        # A hosted embedder is built through the runtime, which may read files.
        embedder = await asyncio.to_thread(make_embedder, settings.embedding_model)
    service = MemoryService(chosen, embedder)
    try:
        await chosen.open()
    except BaseException:
        await service.aclose()
        raise
    return service
