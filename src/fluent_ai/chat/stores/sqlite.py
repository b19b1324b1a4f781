"""The embedded chat history: one SQLite file (``$FLUENT_AI_HOME/history.db`` by default).

WAL mode lets readers run beside one writer and several processes (two terminals
chatting, a server) share the file; each write is one ``BEGIN IMMEDIATE`` transaction and
``busy_timeout`` makes other writers wait their turn instead of failing. Every sqlite3
call runs on the store's own thread (one connection, used by that thread only), so the
event loop never waits on disk or locks. Schema and indexes: ``sqlite_schema``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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

__all__ = ["SqliteChatStore", "default_path"]

T = TypeVar("T")


def default_path() -> Path:
    """``history.db`` in the configured home (``FLUENT_AI_HOME``, else ``~/.fluent-ai``)."""
    from fluent_ai.config import load_settings

    return load_settings().home / "history.db"


class SqliteChatStore(CheckedChatStore):
    """A :class:`ChatStore` in one SQLite file; ``":memory:"`` keeps it in RAM."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._path = path
        self._resolved = ""
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._vectors = VectorMirror()
        self._lock = asyncio.Lock()

    @property
    def location(self) -> str:
        """The database file (resolved when the store opens)."""
        return self._resolved or str(self._path or "")

    @property
    def dialect(self) -> Dialect:
        return "sqlite"

    def __repr__(self) -> str:
        return f"SqliteChatStore({self.location!r})"

    # -- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        async with self._lock:
            if self._executor is not None:
                return
            executor = ThreadPoolExecutor(1, thread_name_prefix="fluent-ai-chat")
            try:
                self._conn = await asyncio.wrap_future(executor.submit(self._connect))
            except BaseException:
                executor.shutdown(wait=False)
                raise
            self._executor = executor

    def _connect(self) -> sqlite3.Connection:
        target = str(self._path) if self._path is not None else str(default_path())
        if target != ":memory:":
            Path(target).expanduser().parent.mkdir(parents=True, exist_ok=True)
            target = str(Path(target).expanduser().resolve())
        self._resolved = target
        try:
            conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise ChatStoreError(f"cannot open the chat history {target}: {exc}") from None
        try:
            configure(conn)
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise ChatStoreError(f"{target} is not a usable chat history: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return conn

    async def close(self) -> None:
        async with self._lock:
            executor, conn = self._executor, self._conn
            self._executor = self._conn = None
            if executor is None or conn is None:
                return
            await asyncio.wrap_future(executor.submit(conn.close))
            executor.shutdown(wait=False)
            self._vectors = VectorMirror()

    async def _call(self, operation: str, *args: object) -> Any:
        if operation == "vector_search":
            return await self._run(self._vectors.search, *args)
        return await self._run(_OPERATIONS[operation], *args)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        executor, conn = self._executor, self._conn
        if executor is None or conn is None:
            raise ChatStoreClosedError(f"{self!r} is not open: use `async with` or await open()")

        def call() -> T:
            try:
                return fn(conn, *args)
            except sqlite3.Error as exc:
                raise ChatStoreError(f"chat history {self.location}: {exc}") from exc

        return await asyncio.wrap_future(executor.submit(call))

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
