"""Blocking search primitives of the SQLite chat store: filters, FTS5, its vocabulary.

A search ranks FTS5's matches by ``bm25()`` (scores are ``-bm25()``, so higher is
better; ties go to the older message) and reads ``messages`` rows only for the page it
returns. With a filter, each match is checked in ``messages_search_filter``, a covering
index of the filter columns keyed by ``pk`` (see ``sqlite_schema``), not in its wide row.

FTS5 scores every match before it can sort, so a query matching much of the history
(one very common word, or two common words OR-ed) costs time in proportion. Past
:data:`CANDIDATE_LIMIT` matches (counted before the filter) only the most recently
stored ``CANDIDATE_LIMIT`` are ranked, unless the filter leaves too few of them to fill
the page (then all are): a page of such a broad query holds the best BM25 hits among its
latest matches, not among all of them. Scores stay exact (BM25's statistics come from
the whole index); a query with fewer matches is exact.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fluent_ai.chat.stores.errors import InvalidSearchQueryError
from fluent_ai.chat.types import HistoryFilter, ScoredMessage
from fluent_ai.memory.stores.sqlite_codec import to_micros

__all__ = ["CANDIDATE_LIMIT", "count_messages", "filter_sql", "search_text", "vocabulary"]

#: What SQLite says when FTS5 rejects a query (as opposed to a disk or lock failure).
_QUERY_ERRORS = ("fts5", "no such column", "unknown special query", "malformed match")

#: The most matches one search ranks (the most recently stored; more when paging deeper).
CANDIDATE_LIMIT = 20_000


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


def _matches(where: str) -> str:
    """The FROM/WHERE of a search: FTS5 matches, filtered in the covering index."""
    if where == "1":
        return "FROM messages_fts WHERE messages_fts MATCH ?"
    return (
        "FROM messages_fts JOIN messages AS f INDEXED BY messages_search_filter "
        f"ON f.pk = messages_fts.rowid WHERE messages_fts MATCH ? AND {where}"
    )


def _oldest_candidate(conn: sqlite3.Connection, match: str, depth: int) -> int | None:
    """The rowid of the ``depth``-th newest match (filter aside), ``None`` when there are
    fewer: walking matches in rowid order is cheap next to scoring them."""
    row = conn.execute(
        "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? "
        "ORDER BY rowid DESC LIMIT 1 OFFSET ?",
        (match, depth - 1),
    ).fetchone()
    return None if row is None else int(row[0])


def _ranked(
    conn: sqlite3.Connection, source: str, params: list[Any], limit: int, offset: int
) -> list[tuple[str, float]]:
    rows = conn.execute(
        "SELECT m.id, -hit.score FROM ("
        f"SELECT messages_fts.rowid AS pk, bm25(messages_fts) AS score {source} "
        "ORDER BY score, pk LIMIT ? OFFSET ?"
        ") AS hit JOIN messages AS m ON m.pk = hit.pk ORDER BY hit.score, hit.pk",
        (*params, limit, offset),
    ).fetchall()
    return [(str(message_id), float(score)) for message_id, score in rows]


def search_text(
    conn: sqlite3.Connection,
    match: str,
    spec: HistoryFilter | None,
    limit: int,
    offset: int,
) -> list[ScoredMessage]:
    where, params = filter_sql(spec, "f")
    source = _matches(where)
    try:
        oldest = _oldest_candidate(conn, match, max(CANDIDATE_LIMIT, offset + limit))
        rows: list[tuple[str, float]] = []
        if oldest is not None:
            bounded = f"{source} AND messages_fts.rowid >= ?"
            rows = _ranked(conn, bounded, [match, *params, oldest], limit, offset)
        if len(rows) < limit:  # no bound, or a filter that kept too few of the latest
            rows = _ranked(conn, source, [match, *params], limit, offset)
    except sqlite3.OperationalError as exc:
        if any(marker in str(exc).lower() for marker in _QUERY_ERRORS):
            raise InvalidSearchQueryError(
                f"the full-text index rejected the query {match[:200]!r}: {exc}"
            ) from None
        raise
    return [ScoredMessage(id=message_id, score=score) for message_id, score in rows]


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
