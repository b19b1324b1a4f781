"""The server's chat history: one opened chat store and one search service over it.

The store is shared by everything in the process that keeps conversations (the history
endpoints, agents served as ``agent:NAME``, realtime rooms); :class:`HistorySearch`
caches result pages under the store's generation, so one instance per process makes
repeated searches cheap and any write by anyone invalidates them.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fluent_ai.chat.open import open_chat_store
from fluent_ai.chat.search import HistorySearch
from fluent_ai.chat.store import ChatStore
from fluent_ai.embeddings import Embedder
from fluent_ai.embeddings import embedder as make_embedder

if TYPE_CHECKING:
    from fluent_ai.config import Settings

__all__ = ["HistoryService", "open_history_service"]


class HistoryService:
    """The opened chat store and its search (``ServerState.parts["history"]``).

    The service owns the store and the search's embedder: :meth:`aclose` closes them.
    Without an embedder, search is full text only.
    """

    def __init__(self, store: ChatStore, embedder: Embedder | None = None) -> None:
        self.store = store
        self.search = HistorySearch(store, embedder)

    def __repr__(self) -> str:
        return f"HistoryService(store={self.store!r}, embedder={self.search.embedder!r})"

    async def aclose(self) -> None:
        """Close the store and release the embedder."""
        try:
            await self.store.close()
        finally:
            if self.search.embedder is not None:
                await self.search.embedder.aclose()


async def open_history_service(
    settings: Settings,
    *,
    store: ChatStore | None = None,
    embedder: Embedder | None = None,
    semantic: bool = True,
) -> HistoryService:
    """Open the store ``settings.history_store`` names (``history.db`` under
    ``settings.home`` by default), searched with the ``settings.embedding_model`` embedder.

    Semantic ranking joins full text once the store holds vectors of that model
    (``fluent-ai history index`` computes them); ``semantic=False`` searches full text
    only (and leaves ``embedder`` to its caller). ``store`` / ``embedder`` replace the
    configured ones; the service owns what it uses.
    """
    chosen = store or open_chat_store(settings.history_store or settings.home / "history.db")
    if not semantic:
        embedder = None
    elif embedder is None:
        # A hosted embedder is built through the runtime, which may read files.
        embedder = await asyncio.to_thread(make_embedder, settings.embedding_model)
    service = HistoryService(chosen, embedder)
    try:
        await chosen.open()
    except BaseException:
        await service.aclose()
        raise
    return service
