"""Which chat store a location names: a SQLite file (the default) or a PostgreSQL URL.

One function so the agent's persistence, the ``fluent-ai history`` CLI and the server
read a location the same way (as :func:`fluent_ai.memory.factory.open_store` does for
memory). PostgreSQL's driver is imported only when a ``postgresql://`` URL is used.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from fluent_ai.chat.store import ChatStore
from fluent_ai.storage.location import resolve_location

__all__ = ["open_chat_store"]


def open_chat_store(location: str | Path | ChatStore | None = None) -> ChatStore:
    """The chat store at ``location`` (not yet opened).

    ``None`` is the ``history_store`` setting, else ``history.db`` under
    ``FLUENT_AI_HOME``; a ``postgresql://`` URL is PostgreSQL; anything else is a SQLite
    file path (``":memory:"`` for a throwaway one). A store object is returned as it is.
    """
    if isinstance(location, ChatStore):
        return location
    backend, text = resolve_location(location, "history_store", "ChatStore")
    if backend == "postgres":
        module = importlib.import_module("fluent_ai.chat.stores.postgres")
        store: ChatStore = module.PostgresChatStore(text)
        return store
    from fluent_ai.chat.stores.sqlite import SqliteChatStore

    return SqliteChatStore(text or None)
