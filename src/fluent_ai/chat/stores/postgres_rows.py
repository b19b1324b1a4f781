"""PostgreSQL rows of the chat store: the write transaction, lookups, decoding, filters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from psycopg import sql

from fluent_ai.chat.stores.codec import (
    branch_from,
    chat_message_from,
    conversation_from,
    dump_json,
    message_json,
)
from fluent_ai.chat.stores.errors import BranchNotFoundError, ConversationNotFoundError
from fluent_ai.chat.stores.postgres_pool import Conn
from fluent_ai.chat.types import Branch, ChatMessage, ConversationRecord, HistoryFilter

__all__ = [
    "MESSAGE_COLUMNS",
    "branch_head",
    "filter_sql",
    "load_branches",
    "load_conversations",
    "load_messages",
    "lock_conversation",
    "message_from_row",
    "message_row",
    "write",
]

MESSAGE_COLUMNS = (
    "m.id, m.conversation_id, m.parent_id, m.message::text, m.model, m.input_tokens, "
    "m.output_tokens, m.cost_usd, m.status, m.error, m.created_at, m.metadata::text"
)
INSERT_MESSAGE = (
    "INSERT INTO chat_messages (id, conversation_id, parent_id, role, session, model, status, "
    "created_at, input_tokens, output_tokens, cost_usd, text, message, error, metadata) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


@asynccontextmanager
async def write(conn: Conn) -> AsyncIterator[None]:
    """One transaction that bumps the generation last (the hot row is held briefly)."""
    async with conn.transaction():
        yield
        await conn.execute("UPDATE chat_meta SET value = value + 1 WHERE key = 'generation'")


async def lock_conversation(conn: Conn, conversation_id: str) -> tuple[str, str | None]:
    """Lock the conversation row for this transaction; its current branch and session."""
    cursor = await conn.execute(
        "SELECT current_branch, session FROM chat_conversations WHERE id = %s FOR UPDATE",
        (conversation_id,),
    )
    row = await cursor.fetchone()
    if row is None:
        raise ConversationNotFoundError(conversation_id)
    return row[0], row[1]


async def branch_head(conn: Conn, conversation_id: str, name: str) -> str | None:
    cursor = await conn.execute(
        "SELECT head_id FROM chat_branches WHERE conversation_id = %s AND name = %s",
        (conversation_id, name),
    )
    row = await cursor.fetchone()
    if row is None:
        raise BranchNotFoundError(conversation_id, name)
    return None if row[0] is None else str(row[0])


def message_row(
    message: ChatMessage, parent_id: str | None, session: str | None
) -> tuple[Any, ...]:
    return (
        message.id,
        message.conversation_id,
        parent_id,
        message.role.value,
        session,
        message.model,
        message.status,
        message.created_at,
        message.input_tokens,
        message.output_tokens,
        message.cost_usd,
        message.text.replace("\x00", ""),
        message_json(message),
        message.error,
        dump_json(message.metadata),
    )


def message_from_row(row: Sequence[Any]) -> ChatMessage:
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
        created_at=row[10],
        metadata=row[11],
    )


async def load_messages(conn: Conn, ids: Sequence[str]) -> list[ChatMessage]:
    cursor = await conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM chat_messages AS m WHERE m.id = ANY(%s)", (list(ids),)
    )
    found = {row[0]: message_from_row(row) for row in await cursor.fetchall()}
    return [found[message_id] for message_id in ids if message_id in found]


async def load_conversations(
    conn: Conn, where: sql.Composable, params: Sequence[Any], tail: sql.Composable | None = None
) -> list[ConversationRecord]:
    """Conversations passing ``where`` (on alias ``c``) with their tags, in ``tail`` order."""
    statement = sql.SQL(
        "SELECT c.id, c.title, c.session, c.agent, c.model, c.current_branch, c.created_at, "
        "c.updated_at, c.metadata::text, coalesce((SELECT array_agg(t.tag) FROM chat_tags AS t "
        "WHERE t.conversation_id = c.id), '{{}}') FROM chat_conversations AS c WHERE {where} {tail}"
    ).format(where=where, tail=tail or sql.SQL(""))
    cursor = await conn.execute(statement, params)
    return [
        conversation_from(
            id=row[0],
            title=row[1],
            session=row[2],
            tags=list(row[9]),
            agent=row[3],
            model=row[4],
            current_branch=row[5],
            created_at=row[6],
            updated_at=row[7],
            metadata=row[8],
        )
        for row in await cursor.fetchall()
    ]


async def load_branches(conn: Conn, conversation_id: str) -> list[Branch]:
    cursor = await conn.execute(
        "SELECT name, head_id, forked_from, created_at FROM chat_branches "
        "WHERE conversation_id = %s ORDER BY created_at, name",
        (conversation_id,),
    )
    return [
        branch_from(conversation_id, name, head, forked, created)
        for name, head, forked, created in await cursor.fetchall()
    ]


def filter_sql(spec: HistoryFilter | None) -> tuple[sql.Composable, list[Any]]:
    """``AND``-joined conditions on ``chat_messages AS m`` (``TRUE`` when none) and values."""
    if spec is None:
        return sql.SQL("TRUE"), []
    clauses: list[str] = []
    params: list[Any] = []
    if spec.since is not None:
        clauses.append("m.created_at >= %s")
        params.append(spec.since)
    if spec.until is not None:
        clauses.append("m.created_at < %s")
        params.append(spec.until)
    if spec.roles is not None:
        clauses.append("m.role = ANY(%s)")
        params.append(sorted(role.value for role in spec.roles))
    if spec.session is not None:
        clauses.append("m.session = %s")
        params.append(spec.session)
    if spec.model is not None:
        clauses.append("m.model = %s")
        params.append(spec.model)
    if spec.conversation_id is not None:
        clauses.append("m.conversation_id = %s")
        params.append(spec.conversation_id)
    for tag in sorted({tag.lower() for tag in spec.tags}):
        clauses.append(
            "m.conversation_id IN (SELECT conversation_id FROM chat_tags WHERE tag = %s)"
        )
        params.append(tag)
    return sql.SQL(" AND ".join(clauses) or "TRUE"), params
