"""The SQLite store's vector search: the in-memory index kept in step with the table.

The table is the source of truth; each process holds its own :class:`NamespaceVectors`
per namespace, loaded from the table on first use. Triggers append the key of every row
whose vector may have changed to ``vector_log``; before each search the index reads the
log past its watermark and re-reads those rows, so inserts, updates and deletes made by
any process (or lost with a killed one) are seen by the next search. Pruning the log
raises ``vector_log_pruned_through``; an index whose watermark is below it reloads.

Filters are applied in SQL to an over-fetched candidate list; when too few candidates
pass (a selective filter), the search scores exactly the rows the filter admits, so it
still returns ``k`` hits whenever ``k`` exist.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import datetime

import numpy as np

from fluent_ai.memory.stores.sqlite_codec import filter_sql
from fluent_ai.memory.stores.vector_index import NamespaceVectors, normalise
from fluent_ai.memory.types import MemoryFilter, ScoredId, Vector

__all__ = ["VectorCatalog", "prune_log"]

_CHUNK = 500
_OVERFETCH = 4
#: Log entries kept by :func:`prune_log`, so processes slightly behind can still catch up.
LOG_KEEP = 10_000


def _log_head(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'vector_log'").fetchone()
    return int(row[0]) if row else 0


def prune_log(conn: sqlite3.Connection, keep: int = LOG_KEEP) -> None:
    """Drop all but the last ``keep`` log entries (inside the caller's write transaction)."""
    cut = _log_head(conn) - keep
    if cut > 0:
        conn.execute("DELETE FROM vector_log WHERE seq <= ?", (cut,))
        conn.execute(
            "UPDATE store_meta SET value = max(value, ?) WHERE key = 'vector_log_pruned_through'",
            (cut,),
        )


class VectorCatalog:
    """Every namespace's vectors of one store, for one process."""

    def __init__(self) -> None:
        self._spaces: dict[str, NamespaceVectors] = {}
        self._where: dict[int, str] = {}
        self._watermark = -1

    def search(
        self,
        conn: sqlite3.Connection,
        namespace: str,
        query: Vector,
        k: int,
        memory_filter: MemoryFilter | None,
        *,
        exact: bool,
        now: datetime,
    ) -> list[ScoredId]:
        """Top ``k`` (id, cosine) of ``namespace`` passing the filter, best first."""
        self.sync(conn)
        space = self._spaces.get(namespace)
        if space is None or len(space) == 0:
            return []
        unit = normalise(query)
        selective = memory_filter is not None and memory_filter.is_selective()
        fetch = min(len(space), k * _OVERFETCH if selective else k + 8)
        keys, scores = space.search(unit, fetch, exact=exact)
        where, params = filter_sql(memory_filter, now)
        allowed = self._ids(conn, keys.tolist(), where, params)
        hits = [
            ScoredId(allowed[key], float(score))
            for key, score in zip(keys, scores, strict=True)
            if key in allowed
        ]
        if len(hits) >= k or fetch >= len(space):
            return hits[:k]
        rows = conn.execute(
            f"SELECT pk, id FROM memories WHERE namespace = ? AND embedding IS NOT NULL "
            f"AND {where}",
            (namespace, *params),
        ).fetchall()
        present = [(pk, memory_id) for pk, memory_id in rows if pk in space]
        if not present:
            return []
        every = np.fromiter((pk for pk, _ in present), dtype=np.int64, count=len(present))
        exact_scores = space.score(unit, every)
        best = np.argsort(-exact_scores, kind="stable")[:k]
        return [ScoredId(present[i][1], float(exact_scores[i])) for i in best.tolist()]

    def sync(self, conn: sqlite3.Connection) -> None:
        """Apply every change logged since the last sync (or load everything)."""
        conn.execute("BEGIN")
        try:
            pruned = conn.execute(
                "SELECT value FROM store_meta WHERE key = 'vector_log_pruned_through'"
            ).fetchone()[0]
            if self._watermark < 0 or pruned > self._watermark:
                self._load(conn)
            else:
                self._catch_up(conn)
        finally:
            conn.execute("COMMIT")

    def _load(self, conn: sqlite3.Connection) -> None:
        self._spaces.clear()
        self._where.clear()
        self._watermark = _log_head(conn)
        dims = dict(conn.execute("SELECT namespace, dimensions FROM spaces").fetchall())
        cursor = conn.execute(
            "SELECT pk, namespace, embedding FROM memories WHERE embedding IS NOT NULL"
        )
        while batch := cursor.fetchmany(10_000):
            self._apply(batch, dims)

    def _catch_up(self, conn: sqlite3.Connection) -> None:
        logged = conn.execute(
            "SELECT seq, pk FROM vector_log WHERE seq > ? ORDER BY seq", (self._watermark,)
        ).fetchall()
        if not logged:
            return
        changed = list(dict.fromkeys(pk for _, pk in logged))
        for pk in changed:
            namespace = self._where.pop(pk, None)
            if namespace is not None:
                self._spaces[namespace].remove(np.array([pk], dtype=np.int64))
        dims = dict(conn.execute("SELECT namespace, dimensions FROM spaces").fetchall())
        for start in range(0, len(changed), _CHUNK):
            chunk = changed[start : start + _CHUNK]
            rows = conn.execute(
                f"SELECT pk, namespace, embedding FROM memories WHERE embedding IS NOT NULL "
                f"AND pk IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            self._apply(rows, dims)
        self._watermark = logged[-1][0]

    def _apply(self, rows: list[tuple[int, str, bytes]], dims: dict[str, int]) -> None:
        grouped: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
        for pk, namespace, blob in rows:
            grouped[namespace].append((pk, blob))
        for namespace, items in grouped.items():
            size = int(dims[namespace])
            space = self._spaces.get(namespace)
            if space is None or space.dimensions != size:
                space = self._spaces[namespace] = NamespaceVectors(size)
            keys = np.fromiter((pk for pk, _ in items), dtype=np.int64, count=len(items))
            matrix = np.frombuffer(b"".join(blob for _, blob in items), dtype=np.float32)
            space.upsert(keys, normalise(matrix.reshape(len(items), size)))
            for pk, _ in items:
                self._where[pk] = namespace

    @staticmethod
    def _ids(
        conn: sqlite3.Connection, keys: list[int], where: str, params: list[object]
    ) -> dict[int, str]:
        found: dict[int, str] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            found.update(
                conn.execute(
                    f"SELECT pk, id FROM memories WHERE pk IN ({','.join('?' * len(chunk))}) "
                    f"AND {where}",
                    (*chunk, *params),
                ).fetchall()
            )
        return found
