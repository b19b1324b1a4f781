"""The embedded memory store: one SQLite file (``$FLUENT_AI_HOME/memory.db`` by default).

WAL mode lets readers run beside one writer and several processes share the file; each
write is one ``BEGIN IMMEDIATE`` transaction, and ``busy_timeout`` makes other writers
wait their turn instead of failing. Text search is FTS5 (an external-content index kept
in step by triggers); vector search is a numpy index in this process, loaded from the
table and caught up through a change log before every search (``sqlite_vectors``), so
the table alone is the truth: a killed process loses nothing committed and leaves no
index to repair. Why numpy (exact, then IVF past 20,000 vectors) and not usearch or
sqlite-vec: measured in ``benchmarks/memory_vector_index.py``, see ``vector_index``.

Every sqlite3 call runs on the store's own thread (one connection, used by that thread
only), so the event loop never waits on disk or locks.
"""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from fluent_ai.memory.errors import DimensionMismatchError, MemoryStoreError, StoreClosedError
from fluent_ai.memory.store import MemoryStore
from fluent_ai.memory.stores import sqlite_queries as queries
from fluent_ai.memory.stores import sqlite_records as records
from fluent_ai.memory.stores.sqlite_codec import filter_sql
from fluent_ai.memory.stores.sqlite_schema import configure, migrate
from fluent_ai.memory.stores.sqlite_vectors import VectorCatalog
from fluent_ai.memory.types import (
    EmbeddingSpace,
    Memory,
    MemoryFilter,
    Relation,
    ScoredId,
    StoreStats,
    Vector,
    utc_now,
)
from fluent_ai.memory.validation import (
    check_cache_items,
    check_cache_keys,
    check_filter,
    check_ids,
    check_instant,
    check_k,
    check_memories,
    check_model,
    check_namespace,
    check_page,
    check_query_vector,
    check_relation,
    check_text,
)
from fluent_ai.storage.sqlite_worker import SqliteWorker

__all__ = ["SqliteMemoryStore", "default_path"]

T = TypeVar("T")


def default_path() -> Path:
    """``memory.db`` in the configured home (``FLUENT_AI_HOME``, else ``~/.fluent-ai``)."""
    from fluent_ai.config import load_settings

    return load_settings().home / "memory.db"


class SqliteMemoryStore(MemoryStore):
    """A :class:`MemoryStore` in one SQLite file; ``":memory:"`` keeps it in RAM."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._vectors = VectorCatalog()
        self._db = SqliteWorker(
            path,
            default_path=default_path,
            owner="SqliteMemoryStore",
            label="memory store",
            thread_name="fluent-ai-memory",
            configure=configure,
            migrate=migrate,
            store_error=MemoryStoreError,
            closed_error=StoreClosedError,
            on_close=self._forget_vectors,
        )

    @property
    def path(self) -> str:
        """The database file (resolved when the store opens)."""
        return self._db.path

    def __repr__(self) -> str:
        return repr(self._db)

    # -- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    def _forget_vectors(self) -> None:
        self._vectors = VectorCatalog()

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await self._db.run(fn, *args)

    # -- records -----------------------------------------------------------------------

    async def add(self, memories: Sequence[Memory], *, model: str | None = None) -> None:
        batch, checked_model = check_memories(memories, model)
        if batch:
            await self._run(records.add, batch, checked_model)

    async def get(self, ids: Sequence[str]) -> builtins.list[Memory]:
        return await self._run(records.get, check_ids(ids))

    async def update(self, memory: Memory, *, model: str | None = None) -> None:
        batch, checked_model = check_memories([memory], model)
        await self._run(records.update, batch[0], checked_model)

    async def delete(self, ids: Sequence[str]) -> int:
        return await self._run(records.delete, check_ids(ids))

    async def touch(self, ids: Sequence[str], at: datetime | None = None) -> None:
        await self._run(records.touch, check_ids(ids), check_instant(at))

    async def list(
        self,
        namespace: str,
        filter: MemoryFilter | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        with_embeddings: bool = False,
    ) -> builtins.list[Memory]:
        limit, offset = check_page(limit, offset)
        return await self._run(
            records.list_page,
            check_namespace(namespace),
            check_filter(filter),
            utc_now(),
            limit,
            offset,
            bool(with_embeddings),
        )

    async def count(self, namespace: str, filter: MemoryFilter | None = None) -> int:
        check_namespace(namespace)
        where, params = filter_sql(check_filter(filter), utc_now())
        sql = f"SELECT count(*) FROM memories WHERE namespace = ? AND {where}"
        row = await self._run(lambda conn: conn.execute(sql, (namespace, *params)).fetchone())
        return int(row[0])

    async def namespaces(self) -> builtins.list[str]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT DISTINCT namespace FROM memories ORDER BY namespace"
            ).fetchall()
        )
        return [row[0] for row in rows]

    # -- search ------------------------------------------------------------------------

    async def vector_search(
        self,
        namespace: str,
        vector: Vector,
        k: int = 10,
        filter: MemoryFilter | None = None,
        *,
        exact: bool = False,
    ) -> builtins.list[ScoredId]:
        check_namespace(namespace)
        query, k, memory_filter = check_query_vector(vector), check_k(k), check_filter(filter)

        def search(conn: sqlite3.Connection) -> builtins.list[ScoredId]:
            space = records.space(conn, namespace)
            if space is None:
                return []
            if space.dimensions != len(query):
                raise DimensionMismatchError(
                    namespace,
                    expected_model=space.model,
                    expected_dimensions=space.dimensions,
                    model=None,
                    dimensions=len(query),
                )
            return self._vectors.search(
                conn, namespace, query, k, memory_filter, exact=bool(exact), now=utc_now()
            )

        return await self._run(search)

    async def text_search(
        self,
        namespace: str,
        query: str,
        k: int = 10,
        filter: MemoryFilter | None = None,
    ) -> builtins.list[ScoredId]:
        args = (check_namespace(namespace), check_text(query), check_k(k), check_filter(filter))
        return await self._run(queries.text_search, *args, utc_now())

    async def dimensions(self, namespace: str) -> EmbeddingSpace | None:
        return await self._run(records.space, check_namespace(namespace))

    # -- relations ---------------------------------------------------------------------

    async def relate(self, relation: Relation) -> None:
        await self._run(records.relate, check_relation(relation))

    async def unrelate(self, source_id: str, target_id: str, type: str) -> bool:
        key = check_ids([source_id, target_id, type], "relation keys")

        def unrelate(conn: sqlite3.Connection) -> bool:
            with records.transaction(conn):
                cursor = conn.execute(
                    "DELETE FROM relations WHERE source_id = ? AND target_id = ? AND type = ?",
                    key,
                )
                return cursor.rowcount > 0

        return await self._run(unrelate)

    async def relations(self, memory_id: str) -> builtins.list[Relation]:
        return await self._run(records.neighbours, check_ids([memory_id]), None)

    async def neighbours(
        self, ids: Sequence[str], types: Sequence[str] | None = None
    ) -> builtins.list[Relation]:
        kinds = None if types is None else check_ids(types, "types")
        return await self._run(records.neighbours, check_ids(ids), kinds)

    # -- maintenance -------------------------------------------------------------------

    async def delete_expired(self, now: datetime | None = None) -> int:
        return await self._run(queries.delete_expired, check_instant(now))

    async def vacuum(self) -> None:
        await self._run(queries.vacuum)

    async def stats(self) -> StoreStats:
        return await self._run(queries.stats, self.path, utc_now())

    # -- embedding cache ---------------------------------------------------------------

    async def get_embeddings(self, model: str, keys: Sequence[str]) -> dict[str, Vector]:
        checked = check_model(model, required=True)
        return await self._run(queries.get_embeddings, checked, check_cache_keys(keys))

    async def put_embeddings(self, model: str, items: Mapping[str, Vector]) -> None:
        checked, vectors = check_model(model, required=True), check_cache_items(items)
        if vectors:
            await self._run(queries.put_embeddings, checked, vectors)
