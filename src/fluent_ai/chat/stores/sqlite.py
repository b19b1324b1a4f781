"""The embedded chat history: one SQLite file (``$FLUENT_AI_HOME/history.db`` by default).

WAL mode lets readers run beside one writer and several processes (two terminals
chatting, a server) share the file; each write is one ``BEGIN IMMEDIATE`` transaction and
``busy_timeout`` makes other writers wait their turn instead of failing. Every sqlite3
call runs on the store's own thread (one connection, used by that thread only), so the
event loop never waits on disk or locks. Schema and indexes: ``sqlite_schema``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fluent_ai.chat.store import Dialect
from fluent_ai.chat.stores import sqlite_conversations as conversations
from fluent_ai.chat.stores import sqlite_messages as messages
from fluent_ai.chat.stores import sqlite_search as search
from fluent_ai.chat.stores.checked import CheckedChatStore
from fluent_ai.chat.stores.errors import ChatStoreClosedError, ChatStoreError
from fluent_ai.chat.stores.sqlite_rows import load_messages
from fluent_ai.chat.stores.sqlite_schema import configure, migrate
from fluent_ai.chat.stores.sqlite_vectors import VectorMirror, missing_vectors, put_vectors
from fluent_ai.storage.sqlite_worker import SqliteWorker

__all__ = ["SqliteChatStore", "default_path"]

T = TypeVar("T")


def default_path() -> Path:
    """``history.db`` in the configured home (``FLUENT_AI_HOME``, else ``~/.fluent-ai``)."""
    from fluent_ai.config import load_settings

    return load_settings().home / "history.db"


class SqliteChatStore(CheckedChatStore):
    """A :class:`ChatStore` in one SQLite file; ``":memory:"`` keeps it in RAM."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._vectors = VectorMirror()
        self._db = SqliteWorker(
            path,
            default_path=default_path,
            owner="SqliteChatStore",
            label="chat history",
            thread_name="fluent-ai-chat",
            configure=configure,
            migrate=migrate,
            store_error=ChatStoreError,
            closed_error=ChatStoreClosedError,
            on_close=self._forget_vectors,
        )

    @property
    def location(self) -> str:
        """The database file (resolved when the store opens)."""
        return self._db.path

    @property
    def dialect(self) -> Dialect:
        return "sqlite"

    def __repr__(self) -> str:
        return repr(self._db)

    # -- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    def _forget_vectors(self) -> None:
        self._vectors = VectorMirror()

    async def _call(self, operation: str, *args: object) -> Any:
        if operation == "vector_search":
            return await self._run(self._vectors.search, *args)
        return await self._run(_OPERATIONS[operation], *args)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await self._db.run(fn, *args)

    async def generation(self) -> int:
        row = await self._run(
            lambda conn: conn.execute(
                "SELECT value FROM chat_meta WHERE key = 'generation'"
            ).fetchone()
        )
        return int(row[0])


#: What each operation of :class:`CheckedChatStore` runs (on the store's thread).
_OPERATIONS: dict[str, Callable[..., Any]] = {
    "create_conversation": conversations.create,
    "get_conversation": conversations.get,
    "update_conversation": conversations.update,
    "delete_conversation": conversations.delete,
    "list_conversations": conversations.list_page,
    "last_conversation": conversations.last,
    "sessions": conversations.sessions,
    "add_tags": conversations.add_tags,
    "remove_tags": conversations.remove_tags,
    "tags": conversations.tags,
    "append": messages.append,
    "get_messages": load_messages,
    "path": messages.path,
    "list_branches": messages.branches,
    "fork": messages.fork,
    "switch_branch": messages.switch,
    "delete_branch": messages.delete_branch,
    "export_conversation": messages.export,
    "import_conversation": messages.import_conversation,
    "search_text": search.search_text,
    "vocabulary": search.vocabulary,
    "count_messages": search.count_messages,
    "put_vectors": put_vectors,
    "messages_without_vectors": missing_vectors,
}
