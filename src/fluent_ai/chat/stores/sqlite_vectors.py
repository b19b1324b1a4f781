"""Message embeddings in the SQLite chat store, searched by an in-process index.

The ``message_vectors`` table is the truth; each process mirrors it in one
:class:`~fluent_ai.memory.stores.vector_index.NamespaceVectors` per embedding model (exact
below 20,000 vectors, IVF above; measured for memory in
``benchmarks/memory_vector_index.py``). Triggers log every changed (model, message) to
``vector_log``; before each search the mirror re-reads the rows logged past its
watermark, so writes by any process are seen. Pruning the log raises
``vector_log_pruned_through``, and a mirror behind it reloads.

A filter is applied in SQL to over-fetched candidates; if too few pass, the rows the
filter admits are scored exactly, so ``k`` hits come back whenever ``k`` exist.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from fluent_ai.chat.store import Vector
from fluent_ai.chat.stores.errors import InvalidChatDataError, MessageNotFoundError
from fluent_ai.chat.stores.sqlite_rows import CHUNK, MESSAGE_SELECT, message_from_row, write
from fluent_ai.chat.stores.sqlite_search import filter_sql
from fluent_ai.chat.types import ChatMessage, HistoryFilter, ScoredMessage
from fluent_ai.memory.stores.vector_index import NamespaceVectors, normalise

__all__ = ["LOG_KEEP", "VectorMirror", "missing_vectors", "put_vectors"]

#: Log entries kept when pruning, so processes slightly behind can still catch up.
LOG_KEEP = 10_000
_OVERFETCH = 4


def _log_head(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'vector_log'").fetchone()
    return int(row[0]) if row else 0


def _dimensions(conn: sqlite3.Connection, model: str) -> int | None:
    row = conn.execute("SELECT dimensions FROM vector_spaces WHERE model = ?", (model,)).fetchone()
    return None if row is None else int(row[0])


def put_vectors(conn: sqlite3.Connection, model: str, vectors: Mapping[str, Vector]) -> None:
    ids = list(vectors)
    size = len(next(iter(vectors.values())))
    with write(conn):
        known = _dimensions(conn, model)
        if known is None:
            conn.execute(
                "INSERT INTO vector_spaces (model, dimensions) VALUES (?, ?)", (model, size)
            )
        elif known != size:
            raise InvalidChatDataError(
                f"model {model!r} has {known}-d vectors in this store; got {size}-d"
            )
        keys: dict[str, int] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            keys.update(
                conn.execute(
                    f"SELECT id, pk FROM messages WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
            )
        missing = [message_id for message_id in ids if message_id not in keys]
        if missing:
            raise MessageNotFoundError(missing)
        conn.executemany(
            "INSERT OR REPLACE INTO message_vectors (model, message_pk, vector) VALUES (?, ?, ?)",
            ((model, keys[i], vectors[i].astype(np.float32).tobytes()) for i in ids),
        )
        cut = _log_head(conn) - LOG_KEEP
        if cut > 0:
            conn.execute("DELETE FROM vector_log WHERE seq <= ?", (cut,))
            conn.execute(
                "UPDATE chat_meta SET value = max(value, ?) "
                "WHERE key = 'vector_log_pruned_through'",
                (cut,),
            )


def missing_vectors(conn: sqlite3.Connection, model: str, limit: int) -> list[ChatMessage]:
    rows = conn.execute(
        f"{MESSAGE_SELECT} WHERE m.text <> '' AND NOT EXISTS (SELECT 1 FROM message_vectors "
        "AS v WHERE v.model = ? AND v.message_pk = m.pk) ORDER BY m.created_at, m.id LIMIT ?",
        (model, limit),
    ).fetchall()
    return [message_from_row(row) for row in rows]


class VectorMirror:
    """Every model's vectors of one store, for one process (used from the store's thread)."""

    def __init__(self) -> None:
        self._models: dict[str, NamespaceVectors] = {}
        self._watermark = -1

    def search(
        self,
        conn: sqlite3.Connection,
        model: str,
        query: Vector,
        k: int,
        spec: HistoryFilter | None,
    ) -> list[ScoredMessage]:
        conn.execute("BEGIN")
        try:
            self._sync(conn)
            size = _dimensions(conn, model)
            space = self._models.get(model)
            if size is None or space is None or len(space) == 0:
                return []
            if size != len(query):
                raise InvalidChatDataError(
                    f"model {model!r} has {size}-d vectors in this store; the query is "
                    f"{len(query)}-d"
                )
            return self._search(conn, space, model, normalise(query), k, spec)
        finally:
            conn.execute("COMMIT")

    def _search(
        self,
        conn: sqlite3.Connection,
        space: NamespaceVectors,
        model: str,
        unit: Vector,
        k: int,
        spec: HistoryFilter | None,
    ) -> list[ScoredMessage]:
        fetch = min(len(space), k * _OVERFETCH if spec is not None else k)
        keys, scores = space.search(unit, fetch)
        where, params = filter_sql(spec)
        allowed: dict[int, str] = {}
        found = keys.tolist()
        for start in range(0, len(found), CHUNK):
            chunk = found[start : start + CHUNK]
            allowed.update(
                conn.execute(
                    f"SELECT m.pk, m.id FROM messages AS m WHERE m.pk IN "
                    f"({','.join('?' * len(chunk))}) AND {where}",
                    (*chunk, *params),
                ).fetchall()
            )
        hits = [
            ScoredMessage(id=allowed[key], score=float(score))
            for key, score in zip(found, scores.tolist(), strict=True)
            if key in allowed
        ]
        if len(hits) >= k or fetch >= len(space):
            return hits[:k]
        rows = conn.execute(
            "SELECT m.pk, m.id FROM messages AS m JOIN message_vectors AS v "
            f"ON v.message_pk = m.pk AND v.model = ? WHERE {where}",
            (model, *params),
        ).fetchall()
        present = [(pk, message_id) for pk, message_id in rows if pk in space]
        if not present:
            return []
        every = np.fromiter((pk for pk, _ in present), dtype=np.int64, count=len(present))
        exact = space.score(unit, every)
        best = np.argsort(-exact, kind="stable")[:k]
        return [ScoredMessage(id=present[i][1], score=float(exact[i])) for i in best.tolist()]

    def _sync(self, conn: sqlite3.Connection) -> None:
        (pruned,) = conn.execute(
            "SELECT value FROM chat_meta WHERE key = 'vector_log_pruned_through'"
        ).fetchone()
        if self._watermark < 0 or pruned > self._watermark:
            self._models.clear()
            self._watermark = _log_head(conn)
            cursor = conn.execute("SELECT model, message_pk, vector FROM message_vectors")
            while batch := cursor.fetchmany(10_000):
                self._apply(batch)
            return
        logged = conn.execute(
            "SELECT seq, model, message_pk FROM vector_log WHERE seq > ? ORDER BY seq",
            (self._watermark,),
        ).fetchall()
        if not logged:
            return
        changed: dict[str, list[int]] = defaultdict(list)
        for _, model, pk in logged:
            changed[model].append(pk)
        for model, pks in changed.items():
            unique = list(dict.fromkeys(pks))
            if model in self._models:
                self._models[model].remove(np.array(unique, dtype=np.int64))
            for start in range(0, len(unique), CHUNK):
                chunk = unique[start : start + CHUNK]
                self._apply(
                    conn.execute(
                        "SELECT model, message_pk, vector FROM message_vectors WHERE model = ? "
                        f"AND message_pk IN ({','.join('?' * len(chunk))})",
                        (model, *chunk),
                    ).fetchall()
                )
        self._watermark = logged[-1][0]

    def _apply(self, rows: list[tuple[str, int, bytes]]) -> None:
        grouped: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
        for model, pk, blob in rows:
            grouped[model].append((pk, blob))
        for model, items in grouped.items():
            size = len(items[0][1]) // 4
            space = self._models.get(model)
            if space is None or space.dimensions != size:
                space = self._models[model] = NamespaceVectors(size)
            keys = np.fromiter((pk for pk, _ in items), dtype=np.int64, count=len(items))
            matrix = np.frombuffer(b"".join(blob for _, blob in items), dtype=np.float32)
            space.upsert(keys, normalise(matrix.reshape(len(items), size)))
