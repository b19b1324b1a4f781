"""Blocking message and branch operations of the SQLite chat store.

Messages form a tree (``parent_pk``); a branch is a named pointer at its newest message.
New rows get their keys here, inside the write transaction (which holds SQLite's one
write lock), so a batch is inserted with one ``executemany`` however long it is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from fluent_ai.chat.export_dump import ConversationDump
from fluent_ai.chat.stores import sqlite_conversations as conversations
from fluent_ai.chat.stores.codec import parents_first
from fluent_ai.chat.stores.errors import (
    BranchExistsError,
    BranchInUseError,
    DuplicateMessageError,
    MessageNotFoundError,
)
from fluent_ai.chat.stores.sqlite_rows import (
    CHUNK,
    MESSAGE_SELECT,
    branch_head,
    conversation_pk,
    load_branches,
    message_from_row,
    message_row,
    write,
)
from fluent_ai.chat.types import Branch, ChatMessage, ConversationRecord
from fluent_ai.memory.stores.sqlite_codec import to_micros

__all__ = [
    "append",
    "branches",
    "delete_branch",
    "export",
    "fork",
    "import_conversation",
    "path",
    "switch",
]

_INSERT = f"INSERT INTO messages VALUES ({', '.join('?' * 16)})"
_ANCESTORS = (
    "{name}(pk) AS (SELECT head_pk FROM branches WHERE conversation_pk = ? AND name {op} ? "
    "AND head_pk IS NOT NULL UNION SELECT m.parent_pk FROM messages AS m "
    "JOIN {name} ON m.pk = {name}.pk WHERE m.parent_pk IS NOT NULL)"
)


def _insert(
    conn: sqlite3.Connection,
    conversation: int,
    session: str | None,
    messages: Sequence[ChatMessage],
    parents: dict[str, int | None] | None = None,
) -> dict[str, int]:
    """Insert ``messages`` (parents first) under new keys; returns each id's key.

    A parent is looked up among the batch by ``parent_id`` unless ``parents`` gives its
    key. A re-used id is a ``DuplicateMessageError``.
    """
    ids = [message.id for message in messages]
    if len(set(ids)) != len(ids):
        raise DuplicateMessageError(sorted({i for i in ids if ids.count(i) > 1}))
    (top,) = conn.execute("SELECT coalesce(max(pk), 0) FROM messages").fetchone()
    keys = {message_id: top + 1 + n for n, message_id in enumerate(ids)}
    known = parents or {}

    def parent_key(message: ChatMessage) -> int | None:
        if message.id in known:
            return known[message.id]
        return None if message.parent_id is None else keys[message.parent_id]

    rows = (
        message_row(message, keys[message.id], conversation, parent_key(message), session)
        for message in messages
    )
    try:
        conn.executemany(_INSERT, rows)
    except sqlite3.IntegrityError as exc:
        if "messages.id" not in str(exc):
            raise
        taken: list[str] = []
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            taken.extend(
                row[0]
                for row in conn.execute(
                    f"SELECT id FROM messages WHERE id IN ({','.join('?' * len(chunk))})", chunk
                )
            )
        raise DuplicateMessageError(taken) from None
    return keys


def append(
    conn: sqlite3.Connection,
    conversation_id: str,
    branch: str | None,
    messages: Sequence[ChatMessage],
    now: datetime,
) -> list[ChatMessage]:
    with write(conn):
        pk = conversation_pk(conn, conversation_id)
        current, session = conn.execute(
            "SELECT current_branch, session FROM conversations WHERE pk = ?", (pk,)
        ).fetchone()
        name = current if branch is None else branch
        head = branch_head(conn, pk, conversation_id, name)
        if not messages:
            return []
        head_id = None
        if head is not None:
            head_id = conn.execute("SELECT id FROM messages WHERE pk = ?", (head,)).fetchone()[0]
        stored: list[ChatMessage] = []
        for message in messages:
            stored.append(message.model_copy(update={"parent_id": head_id}))
            head_id = message.id
        keys = _insert(conn, pk, session, stored, {stored[0].id: head})
        conn.execute(
            "UPDATE branches SET head_pk = ? WHERE conversation_pk = ? AND name = ?",
            (keys[stored[-1].id], pk, name),
        )
        conn.execute(
            "UPDATE conversations SET updated_at = max(updated_at, ?) WHERE pk = ?",
            (to_micros(now), pk),
        )
    return stored


def path(conn: sqlite3.Connection, conversation_id: str, branch: str | None) -> list[ChatMessage]:
    conn.execute("BEGIN")
    try:
        pk = conversation_pk(conn, conversation_id)
        if branch is None:
            (branch,) = conn.execute(
                "SELECT current_branch FROM conversations WHERE pk = ?", (pk,)
            ).fetchone()
        head = branch_head(conn, pk, conversation_id, branch)
        rows = conn.execute(
            "WITH RECURSIVE chain(pk, depth) AS (SELECT ?, 0 UNION ALL "
            "SELECT m.parent_pk, chain.depth + 1 FROM messages AS m "
            "JOIN chain ON m.pk = chain.pk WHERE m.parent_pk IS NOT NULL) "
            f"{MESSAGE_SELECT} JOIN chain ON chain.pk = m.pk ORDER BY chain.depth DESC",
            (head,),
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    return [message_from_row(row) for row in rows]


def branches(conn: sqlite3.Connection, conversation_id: str) -> list[Branch]:
    conn.execute("BEGIN")
    try:
        return load_branches(conn, conversation_pk(conn, conversation_id), conversation_id)
    finally:
        conn.execute("COMMIT")


def fork(
    conn: sqlite3.Connection, conversation_id: str, at_message_id: str, name: str, now: datetime
) -> Branch:
    with write(conn):
        pk = conversation_pk(conn, conversation_id)
        row = conn.execute(
            "SELECT pk FROM messages WHERE id = ? AND conversation_pk = ?", (at_message_id, pk)
        ).fetchone()
        if row is None:
            raise MessageNotFoundError([at_message_id])
        try:
            conn.execute(
                "INSERT INTO branches (conversation_pk, name, head_pk, forked_from_pk, "
                "created_at) VALUES (?, ?, ?, ?, ?)",
                (pk, name, row[0], row[0], to_micros(now)),
            )
        except sqlite3.IntegrityError:
            raise BranchExistsError(conversation_id, name) from None
        created = load_branches(conn, pk, conversation_id)
    return next(branch for branch in created if branch.name == name)


def switch(
    conn: sqlite3.Connection, conversation_id: str, name: str, now: datetime
) -> ConversationRecord:
    with write(conn):
        pk = conversation_pk(conn, conversation_id)
        branch_head(conn, pk, conversation_id, name)
        conn.execute(
            "UPDATE conversations SET current_branch = ?, updated_at = max(updated_at, ?) "
            "WHERE pk = ?",
            (name, to_micros(now), pk),
        )
    return conversations.get(conn, conversation_id)


def delete_branch(conn: sqlite3.Connection, conversation_id: str, name: str) -> int:
    """Drop the branch and the messages no other branch reaches (shared history stays)."""
    with write(conn):
        pk = conversation_pk(conn, conversation_id)
        (current,) = conn.execute(
            "SELECT current_branch FROM conversations WHERE pk = ?", (pk,)
        ).fetchone()
        branch_head(conn, pk, conversation_id, name)
        if current == name:
            raise BranchInUseError(conversation_id, name)
        conn.execute(
            f"WITH RECURSIVE {_ANCESTORS.format(name='mine', op='=')}, "
            f"{_ANCESTORS.format(name='others', op='<>')} "
            "DELETE FROM messages WHERE pk IN (SELECT pk FROM mine EXCEPT SELECT pk FROM others)",
            (pk, name, pk, name),
        )
        # sqlite3's rowcount is -1 for a statement that starts with WITH.
        (deleted,) = conn.execute("SELECT changes()").fetchone()
        conn.execute("DELETE FROM branches WHERE conversation_pk = ? AND name = ?", (pk, name))
        return int(deleted)


def export(conn: sqlite3.Connection, conversation_id: str) -> ConversationDump:
    conn.execute("BEGIN")
    try:
        record = conversations.get(conn, conversation_id)
        pk = conversation_pk(conn, conversation_id)
        found = load_branches(conn, pk, conversation_id)
        rows = conn.execute(
            f"{MESSAGE_SELECT} WHERE m.conversation_pk = ? ORDER BY m.created_at, m.id", (pk,)
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    ordered = parents_first([message_from_row(row) for row in rows])
    return ConversationDump(record=record, branches=list(found), messages=list(ordered))


def import_conversation(
    conn: sqlite3.Connection,
    record: ConversationRecord,
    branch_list: Sequence[Branch],
    messages: Sequence[ChatMessage],
) -> None:
    ordered = parents_first(messages)
    with write(conn):
        pk = conversations.insert(conn, record)
        keys = _insert(conn, pk, record.session, ordered)
        conn.executemany(
            "INSERT INTO branches (conversation_pk, name, head_pk, forked_from_pk, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                (
                    pk,
                    branch.name,
                    None if branch.head_id is None else keys[branch.head_id],
                    None if branch.forked_from is None else keys[branch.forked_from],
                    to_micros(branch.created_at),
                )
                for branch in branch_list
            ),
        )
