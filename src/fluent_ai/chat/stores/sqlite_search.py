"""Blocking search primitives of the SQLite chat store: filters, FTS5, its vocabulary.

A search starts from FTS5 (``MATCH``: the query plan is a scan of the virtual table's
matches) and joins each hit to its one ``messages`` row by primary key, where the
filter's columns live (see ``sqlite_schema``), so a filter costs one row lookup per
match and no join to ``conversations``. Scores are ``-bm25()`` so that higher is better.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fluent_ai.chat.stores.errors import InvalidSearchQueryError
from fluent_ai.chat.types import HistoryFilter, ScoredMessage
from fluent_ai.memory.stores.sqlite_codec import to_micros

__all__ = ["count_messages", "filter_sql", "search_text", "vocabulary"]

#: What SQLite says when FTS5 rejects a query (as opposed to a disk or lock failure).
_QUERY_ERRORS = ("fts5", "no such column", "unknown special query", "malformed match")


def filter_sql(spec: HistoryFilter | None, alias: str = "m") -> tuple[str, list[Any]]:
    """``AND``-joined conditions on ``messages`` (``1`` when nothing filters) and values."""
    if spec is None:
        return "1", []
    m = alias
    clauses: list[str] = []
    params: list[Any] = []
    if spec.since is not None:
        clauses.append(f"{m}.created_at >= ?")
        params.append(to_micros(spec.since))
    if spec.until is not None:
        clauses.append(f"{m}.created_at < ?")
        params.append(to_micros(spec.until))
    if spec.roles is not None:
        roles = sorted(role.value for role in spec.roles)
        clauses.append(f"{m}.role IN ({','.join('?' * len(roles))})" if roles else "0")
        params.extend(roles)
    if spec.session is not None:
        clauses.append(f"{m}.session = ?")
        params.append(spec.session)
    if spec.model is not None:
        clauses.append(f"{m}.model = ?")
        params.append(spec.model)
    if spec.conversation_id is not None:
        clauses.append(f"{m}.conversation_pk = (SELECT pk FROM conversations WHERE id = ?)")
        params.append(spec.conversation_id)
    for tag in sorted({tag.lower() for tag in spec.tags}):
        clauses.append(
            f"{m}.conversation_pk IN (SELECT conversation_pk FROM conversation_tags WHERE tag = ?)"
        )
        params.append(tag)
    return (" AND ".join(clauses) or "1"), params


def search_text(
    conn: sqlite3.Connection,
    match: str,
    spec: HistoryFilter | None,
    limit: int,
    offset: int,
) -> list[ScoredMessage]:
    where, params = filter_sql(spec)
    try:
        rows = conn.execute(
            "SELECT m.id, -bm25(messages_fts) FROM messages_fts "
            "JOIN messages AS m ON m.pk = messages_fts.rowid "
            f"WHERE messages_fts MATCH ? AND {where} "
            "ORDER BY bm25(messages_fts), m.pk LIMIT ? OFFSET ?",
            (match, *params, limit, offset),
        ).fetchall()
    except sqlite3.OperationalError as exc:
        if any(marker in str(exc).lower() for marker in _QUERY_ERRORS):
            raise InvalidSearchQueryError(
                f"the full-text index rejected the query {match[:200]!r}: {exc}"
            ) from None
        raise
    return [ScoredMessage(id=message_id, score=float(score)) for message_id, score in rows]


def vocabulary(conn: sqlite3.Connection, prefix: str, limit: int) -> list[str]:
    """Index terms from ``fts5vocab``; a prefix range keeps the scan to those terms."""
    if not prefix:
        rows = conn.execute(
            "SELECT term FROM messages_vocab ORDER BY term LIMIT ?", (limit,)
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT term FROM messages_vocab WHERE term >= ? AND term < ? ORDER BY term LIMIT ?",
            (prefix, prefix + "\U0010ffff", limit),
        ).fetchall()
    return [row[0] for row in rows]


def count_messages(conn: sqlite3.Connection, spec: HistoryFilter | None) -> int:
    where, params = filter_sql(spec)
    (count,) = conn.execute(f"SELECT count(*) FROM messages AS m WHERE {where}", params).fetchone()
    return int(count)
