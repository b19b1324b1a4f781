"""Blocking conversation, session and tag operations of the SQLite chat store.

The async store runs these on its own thread with validated arguments; each write is
one transaction (``sqlite_rows.write``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fluent_ai.chat.store import SessionSummary, TagCount
from fluent_ai.chat.stores.codec import dump_json
from fluent_ai.chat.stores.errors import BranchNotFoundError, ConversationExistsError
from fluent_ai.chat.stores.sqlite_rows import conversation_pk, load_conversations, write
from fluent_ai.chat.types import ConversationRecord
from fluent_ai.memory.stores.sqlite_codec import from_micros, to_micros

__all__ = [
    "add_tags",
    "create",
    "delete",
    "get",
    "insert",
    "last",
    "list_page",
    "remove_tags",
    "sessions",
    "tags",
    "update",
]


def insert(conn: sqlite3.Connection, record: ConversationRecord) -> int:
    """Insert the conversation row and its tags (inside the caller's transaction)."""
    try:
        cursor = conn.execute(
            "INSERT INTO conversations (id, title, session, agent, model, current_branch, "
            "created_at, updated_at, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.title,
                record.session,
                record.agent,
                record.model,
                record.current_branch,
                to_micros(record.created_at),
                to_micros(record.updated_at),
                dump_json(record.metadata),
            ),
        )
    except sqlite3.IntegrityError:
        raise ConversationExistsError(record.id) from None
    pk = int(cursor.lastrowid or 0)
    conn.executemany(
        "INSERT INTO conversation_tags (tag, conversation_pk) VALUES (?, ?)",
        ((tag, pk) for tag in record.tags),
    )
    return pk


def create(conn: sqlite3.Connection, record: ConversationRecord) -> ConversationRecord:
    with write(conn):
        pk = insert(conn, record)
        conn.execute(
            "INSERT INTO branches (conversation_pk, name, created_at) VALUES (?, ?, ?)",
            (pk, record.current_branch, to_micros(record.created_at)),
        )
    return get(conn, record.id)


def get(conn: sqlite3.Connection, conversation_id: str) -> ConversationRecord:
    pk = conversation_pk(conn, conversation_id)
    return load_conversations(conn, "c.pk = ?", (pk,))[0]


def update(
    conn: sqlite3.Connection, record: ConversationRecord, now: datetime
) -> ConversationRecord:
    with write(conn):
        pk = conversation_pk(conn, record.id)
        if not conn.execute(
            "SELECT 1 FROM branches WHERE conversation_pk = ? AND name = ?",
            (pk, record.current_branch),
        ).fetchone():
            raise BranchNotFoundError(record.id, record.current_branch)
        (old_session,) = conn.execute(
            "SELECT session FROM conversations WHERE pk = ?", (pk,)
        ).fetchone()
        conn.execute(
            "UPDATE conversations SET title = ?, session = ?, agent = ?, model = ?, "
            "current_branch = ?, updated_at = max(updated_at, ?), metadata = ? WHERE pk = ?",
            (
                record.title,
                record.session,
                record.agent,
                record.model,
                record.current_branch,
                to_micros(now),
                dump_json(record.metadata),
                pk,
            ),
        )
        if old_session != record.session:
            conn.execute(
                "UPDATE messages SET session = ? WHERE conversation_pk = ?", (record.session, pk)
            )
        conn.execute("DELETE FROM conversation_tags WHERE conversation_pk = ?", (pk,))
        conn.executemany(
            "INSERT INTO conversation_tags (tag, conversation_pk) VALUES (?, ?)",
            ((tag, pk) for tag in record.tags),
        )
    return get(conn, record.id)


def delete(conn: sqlite3.Connection, conversation_id: str) -> bool:
    with write(conn):
        cursor = conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        return cursor.rowcount > 0


def _where(
    session: str | None, tag: str | None, since: datetime | None, until: datetime | None
) -> tuple[str, list[Any]]:
    clauses: list[str] = ["1"]
    params: list[Any] = []
    if session is not None:
        clauses.append("c.session = ?")
        params.append(session)
    if tag is not None:
        clauses.append("c.pk IN (SELECT conversation_pk FROM conversation_tags WHERE tag = ?)")
        params.append(tag)
    if since is not None:
        clauses.append("c.updated_at >= ?")
        params.append(to_micros(since))
    if until is not None:
        clauses.append("c.updated_at < ?")
        params.append(to_micros(until))
    return " AND ".join(clauses), params


def list_page(
    conn: sqlite3.Connection,
    session: str | None,
    tag: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> list[ConversationRecord]:
    where, params = _where(session, tag, since, until)
    conn.execute("BEGIN")
    try:
        return load_conversations(
            conn,
            where,
            (*params, limit, offset),
            "ORDER BY c.updated_at DESC, c.id DESC LIMIT ? OFFSET ?",
        )
    finally:
        conn.execute("COMMIT")


def last(conn: sqlite3.Connection, session: str | None) -> ConversationRecord | None:
    found = list_page(conn, session, None, None, None, 1, 0)
    return found[0] if found else None


def sessions(conn: sqlite3.Connection) -> list[SessionSummary]:
    rows = conn.execute(
        "SELECT c.session, count(*), "
        "sum((SELECT count(*) FROM messages AS m WHERE m.conversation_pk = c.pk)), "
        "max(c.updated_at) FROM conversations AS c WHERE c.session IS NOT NULL "
        "GROUP BY c.session ORDER BY max(c.updated_at) DESC, c.session"
    ).fetchall()
    return [
        SessionSummary(session, int(count), int(messages), from_micros(updated))
        for session, count, messages, updated in rows
    ]


def _retag(
    conn: sqlite3.Connection, conversation_id: str, tags: Sequence[str], add: bool
) -> ConversationRecord:
    """Tags change what a conversation is filed under, not when it was last used."""
    with write(conn):
        pk = conversation_pk(conn, conversation_id)
        sql = (
            "INSERT OR IGNORE INTO conversation_tags (tag, conversation_pk) VALUES (?, ?)"
            if add
            else "DELETE FROM conversation_tags WHERE tag = ? AND conversation_pk = ?"
        )
        conn.executemany(sql, ((tag, pk) for tag in tags))
    return get(conn, conversation_id)


def add_tags(
    conn: sqlite3.Connection, conversation_id: str, tags: Sequence[str]
) -> ConversationRecord:
    return _retag(conn, conversation_id, tags, add=True)


def remove_tags(
    conn: sqlite3.Connection, conversation_id: str, tags: Sequence[str]
) -> ConversationRecord:
    return _retag(conn, conversation_id, tags, add=False)


def tags(conn: sqlite3.Connection) -> list[TagCount]:
    rows = conn.execute(
        "SELECT tag, count(*) FROM conversation_tags GROUP BY tag ORDER BY count(*) DESC, tag"
    ).fetchall()
    return [TagCount(tag, int(count)) for tag, count in rows]
