"""The PostgreSQL chat history, for deployments past one machine.

Several processes and hosts share one database, each with its own async connection pool
(``postgres_pool``: psycopg 3 + psycopg-pool, nothing blocks the event loop). Every write
is one transaction, so a batch is stored whole or not at all and a process killed
mid-batch leaves nothing behind; writers to one conversation lock its row and take
turns. The schema (``postgres_schema``) is migrated on open under an advisory lock;
search is in ``postgres_search``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fluent_ai.chat.store import Dialect
from fluent_ai.chat.stores import postgres_conversations as conversations
from fluent_ai.chat.stores import postgres_messages as messages
from fluent_ai.chat.stores import postgres_search as search
from fluent_ai.chat.stores.checked import CheckedChatStore
from fluent_ai.chat.stores.postgres_pool import ChatConnections, Conn
from fluent_ai.chat.stores.postgres_rows import load_messages

__all__ = ["PostgresChatStore"]


async def _generation(conn: Conn) -> int:
    cursor = await conn.execute("SELECT value FROM chat_meta WHERE key = 'generation'")
    row = await cursor.fetchone()
    return 0 if row is None else int(row[0])


#: What each operation of :class:`CheckedChatStore` runs on a pooled connection.
_OPERATIONS: dict[str, Callable[..., Awaitable[Any]]] = {
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
    "put_vectors": search.put_vectors,
    "vector_search": search.vector_search,
    "messages_without_vectors": search.missing_vectors,
}


class PostgresChatStore(CheckedChatStore):
    """A :class:`ChatStore` in a PostgreSQL database (with the pgvector extension).

    ``url`` is a libpq URL (``postgresql://user:password@host:5432/db?sslmode=require``).
    The pool holds ``min_connections`` to ``max_connections``; ``timeout`` bounds
    connecting and waiting for a connection.
    """

    def __init__(
        self,
        url: str,
        *,
        min_connections: int = 1,
        max_connections: int = 10,
        timeout: float = 30.0,
    ) -> None:
        self._connections = ChatConnections(
            url, min_connections=min_connections, max_connections=max_connections, timeout=timeout
        )

    @property
    def url(self) -> str:
        """The database URL with its credentials hidden (safe to log)."""
        return self._connections.url

    @property
    def dialect(self) -> Dialect:
        return "postgres"

    def __repr__(self) -> str:
        return f"PostgresChatStore({self.url!r})"

    async def open(self) -> None:
        await self._connections.open()

    async def close(self) -> None:
        await self._connections.close()

    async def generation(self) -> int:
        return await self._connections.run(_generation)

    async def _call(self, operation: str, *args: object) -> Any:
        return await self._connections.run(_OPERATIONS[operation], *args)
