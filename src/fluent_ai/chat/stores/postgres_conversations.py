"""Conversation, session and tag operations of the PostgreSQL chat store.

Each write is one transaction (``postgres_rows.write``) on a pooled connection; a write
that depends on a conversation's state locks its row first (``FOR UPDATE``), so
concurrent writers to one conversation take turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from fluent_ai.chat.store import SessionSummary, TagCount
from fluent_ai.chat.stores.codec import dump_json
from fluent_ai.chat.stores.errors import (
    BranchNotFoundError,
    ConversationExistsError,
    ConversationNotFoundError,
)
from fluent_ai.chat.stores.postgres_pool import Conn
from fluent_ai.chat.stores.postgres_rows import load_conversations, lock_conversation, write
from fluent_ai.chat.types import ConversationRecord

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


async def insert(conn: Conn, record: ConversationRecord) -> None:
    """Insert the conversation row and its tags (inside the caller's transaction)."""
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO chat_conversations (id, title, session, agent, model, "
                "current_branch, created_at, updated_at, metadata) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    record.id,
                    record.title,
                    record.session,
                    record.agent,
                    record.model,
                    record.current_branch,
                    record.created_at,
                    record.updated_at,
                    dump_json(record.metadata),
                ),
            )
    except psycopg.errors.UniqueViolation:
        raise ConversationExistsError(record.id) from None
    await _set_tags(conn, record.id, record.tags)


async def _set_tags(conn: Conn, conversation_id: str, tags: Sequence[str]) -> None:
    if tags:
        await conn.execute(
            "INSERT INTO chat_tags (tag, conversation_id) SELECT unnest(%s::text[]), %s "
            "ON CONFLICT DO NOTHING",
            (sorted(tags), conversation_id),
        )


async def create(conn: Conn, record: ConversationRecord) -> ConversationRecord:
    async with write(conn):
        await insert(conn, record)
        await conn.execute(
            "INSERT INTO chat_branches (conversation_id, name, created_at) VALUES (%s, %s, %s)",
            (record.id, record.current_branch, record.created_at),
        )
    return await get(conn, record.id)


async def get(conn: Conn, conversation_id: str) -> ConversationRecord:
    found = await load_conversations(conn, sql.SQL("c.id = %s"), (conversation_id,))
    if not found:
        raise ConversationNotFoundError(conversation_id)
    return found[0]


async def update(conn: Conn, record: ConversationRecord, now: datetime) -> ConversationRecord:
    async with write(conn):
        _, old_session = await lock_conversation(conn, record.id)
        cursor = await conn.execute(
            "SELECT 1 FROM chat_branches WHERE conversation_id = %s AND name = %s",
            (record.id, record.current_branch),
        )
        if await cursor.fetchone() is None:
            raise BranchNotFoundError(record.id, record.current_branch)
        await conn.execute(
            "UPDATE chat_conversations SET title = %s, session = %s, agent = %s, model = %s, "
            "current_branch = %s, updated_at = greatest(updated_at, %s), metadata = %s "
            "WHERE id = %s",
            (
                record.title,
                record.session,
                record.agent,
                record.model,
                record.current_branch,
                now,
                dump_json(record.metadata),
                record.id,
            ),
        )
        if old_session != record.session:
            await conn.execute(
                "UPDATE chat_messages SET session = %s WHERE conversation_id = %s",
                (record.session, record.id),
            )
        await conn.execute("DELETE FROM chat_tags WHERE conversation_id = %s", (record.id,))
        await _set_tags(conn, record.id, record.tags)
    return await get(conn, record.id)


async def delete(conn: Conn, conversation_id: str) -> bool:
    async with write(conn):
        cursor = await conn.execute(
            "DELETE FROM chat_conversations WHERE id = %s", (conversation_id,)
        )
        return cursor.rowcount > 0


async def list_page(
    conn: Conn,
    session: str | None,
    tag: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> list[ConversationRecord]:
    clauses: list[sql.Composable] = [sql.SQL("TRUE")]
    params: list[Any] = []
    if session is not None:
        clauses.append(sql.SQL("c.session = %s"))
        params.append(session)
    if tag is not None:
        clauses.append(sql.SQL("c.id IN (SELECT conversation_id FROM chat_tags WHERE tag = %s)"))
        params.append(tag)
    if since is not None:
        clauses.append(sql.SQL("c.updated_at >= %s"))
        params.append(since)
    if until is not None:
        clauses.append(sql.SQL("c.updated_at < %s"))
        params.append(until)
    return await load_conversations(
        conn,
        sql.SQL(" AND ").join(clauses),
        (*params, limit, offset),
        sql.SQL("ORDER BY c.updated_at DESC, c.id DESC LIMIT %s OFFSET %s"),
    )


async def last(conn: Conn, session: str | None) -> ConversationRecord | None:
    found = await list_page(conn, session, None, None, None, 1, 0)
    return found[0] if found else None


async def sessions(conn: Conn) -> list[SessionSummary]:
    cursor = await conn.execute(
        "SELECT c.session, count(*), "
        "sum((SELECT count(*) FROM chat_messages AS m WHERE m.conversation_id = c.id)), "
        "max(c.updated_at) FROM chat_conversations AS c WHERE c.session IS NOT NULL "
        "GROUP BY c.session ORDER BY max(c.updated_at) DESC, c.session"
    )
    return [
        SessionSummary(session, int(count), int(messages), updated)
        for session, count, messages, updated in await cursor.fetchall()
    ]


async def _retag(
    conn: Conn, conversation_id: str, tags: Sequence[str], add: bool
) -> ConversationRecord:
    """Tags change what a conversation is filed under, not when it was last used."""
    async with write(conn):
        await lock_conversation(conn, conversation_id)
        if add:
            await _set_tags(conn, conversation_id, tags)
        else:
            await conn.execute(
                "DELETE FROM chat_tags WHERE conversation_id = %s AND tag = ANY(%s)",
                (conversation_id, list(tags)),
            )
    return await get(conn, conversation_id)


async def add_tags(conn: Conn, conversation_id: str, tags: Sequence[str]) -> ConversationRecord:
    return await _retag(conn, conversation_id, tags, add=True)


async def remove_tags(conn: Conn, conversation_id: str, tags: Sequence[str]) -> ConversationRecord:
    return await _retag(conn, conversation_id, tags, add=False)


async def tags(conn: Conn) -> list[TagCount]:
    cursor = await conn.execute(
        "SELECT tag, count(*) FROM chat_tags GROUP BY tag ORDER BY count(*) DESC, tag"
    )
    return [TagCount(tag, int(count)) for tag, count in await cursor.fetchall()]
