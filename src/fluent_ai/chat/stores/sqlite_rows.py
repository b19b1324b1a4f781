"""SQLite rows of the chat store: the write transaction, lookups and row decoding."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from fluent_ai.chat.stores.codec import (
    branch_from,
    chat_message_from,
    conversation_from,
    dump_json,
    message_json,
)
from fluent_ai.chat.stores.errors import BranchNotFoundError, ConversationNotFoundError
from fluent_ai.chat.types import Branch, ChatMessage, ConversationRecord
from fluent_ai.memory.stores.sqlite_codec import from_micros, to_micros

__all__ = [
    "CHUNK",
    "MESSAGE_SELECT",
    "branch_head",
    "conversation_pk",
    "load_branches",
    "load_conversations",
    "load_messages",
    "message_from_row",
    "message_row",
    "write",
]

CHUNK = 500
MESSAGE_SELECT = (
    "SELECT m.id, c.id, p.id, m.message, m.model, m.input_tokens, m.output_tokens, "
    "m.cost_usd, m.status, m.error, m.created_at, m.metadata FROM messages AS m "
    "JOIN conversations AS c ON c.pk = m.conversation_pk "
    "LEFT JOIN messages AS p ON p.pk = m.parent_pk"
)
_CONVERSATION_SELECT = (
    "SELECT c.pk, c.id, c.title, c.session, c.agent, c.model, c.current_branch, "
    "c.created_at, c.updated_at, c.metadata FROM conversations AS c"
)


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken at once (``IMMEDIATE``), that bumps the generation."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("UPDATE chat_meta SET value = value + 1 WHERE key = 'generation'")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def conversation_pk(conn: sqlite3.Connection, conversation_id: str) -> int:
    row = conn.execute("SELECT pk FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
    if row is None:
        raise ConversationNotFoundError(conversation_id)
    return int(row[0])


def branch_head(conn: sqlite3.Connection, pk: int, conversation_id: str, name: str) -> int | None:
    """The branch's head message key (``None`` while empty); the branch must exist."""
    row = conn.execute(
        "SELECT head_pk FROM branches WHERE conversation_pk = ? AND name = ?", (pk, name)
    ).fetchone()
    if row is None:
        raise BranchNotFoundError(conversation_id, name)
    return None if row[0] is None else int(row[0])


def message_row(
    message: ChatMessage, pk: int, conversation: int, parent: int | None, session: str | None
) -> tuple[Any, ...]:
    return (
        pk,
        message.id,
        conversation,
        parent,
        message.role.value,
        session,
        message.model,
        message.status,
        to_micros(message.created_at),
        message.input_tokens,
        message.output_tokens,
        message.cost_usd,
        message.text,
        message_json(message),
        message.error,
        dump_json(message.metadata),
    )


def message_from_row(row: Sequence[Any]) -> ChatMessage:
    """A message from :data:`MESSAGE_SELECT`'s columns."""
    return chat_message_from(
        id=row[0],
        conversation_id=row[1],
        parent_id=row[2],
        message=row[3],
        model=row[4],
        input_tokens=row[5],
        output_tokens=row[6],
        cost_usd=row[7],
        status=row[8],
        error=row[9],
        created_at=from_micros(row[10]),
        metadata=row[11],
    )


def load_messages(conn: sqlite3.Connection, ids: Sequence[str]) -> list[ChatMessage]:
    found: dict[str, ChatMessage] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        rows = conn.execute(
            f"{MESSAGE_SELECT} WHERE m.id IN ({','.join('?' * len(chunk))})", chunk
        ).fetchall()
        found.update((row[0], message_from_row(row)) for row in rows)
    return [found[message_id] for message_id in ids if message_id in found]


def load_conversations(
    conn: sqlite3.Connection, where: str, params: Sequence[Any], tail: str = ""
) -> list[ConversationRecord]:
    """Conversations passing ``where`` (on alias ``c``), with their tags, in ``tail`` order."""
    rows = conn.execute(f"{_CONVERSATION_SELECT} WHERE {where} {tail}", params).fetchall()
    tags: dict[int, list[str]] = {row[0]: [] for row in rows}
    keys = list(tags)
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        for pk, tag in conn.execute(
            "SELECT conversation_pk, tag FROM conversation_tags "
            f"WHERE conversation_pk IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            tags[pk].append(tag)
    return [
        conversation_from(
            id=row[1],
            title=row[2],
            session=row[3],
            tags=tags[row[0]],
            agent=row[4],
            model=row[5],
            current_branch=row[6],
            created_at=from_micros(row[7]),
            updated_at=from_micros(row[8]),
            metadata=row[9],
        )
        for row in rows
    ]


def load_branches(conn: sqlite3.Connection, pk: int, conversation_id: str) -> list[Branch]:
    rows = conn.execute(
        "SELECT b.name, h.id, f.id, b.created_at FROM branches AS b "
        "LEFT JOIN messages AS h ON h.pk = b.head_pk "
        "LEFT JOIN messages AS f ON f.pk = b.forked_from_pk "
        "WHERE b.conversation_pk = ? ORDER BY b.created_at, b.name",
        (pk,),
    ).fetchall()
    return [
        branch_from(conversation_id, name, head, forked, from_micros(created))
        for name, head, forked, created in rows
    ]
