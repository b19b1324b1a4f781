"""Message and branch operations of the PostgreSQL chat store.

Appending locks the conversation row (``FOR UPDATE``) for its transaction, so writers
to one conversation, in any process, append one after another and the history stays a
chain. Indexed terms of new messages go to ``chat_terms`` in sorted order (one
statement per transaction), so concurrent writers never deadlock on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg

from fluent_ai.chat.export_dump import ConversationDump
from fluent_ai.chat.stores import postgres_conversations as conversations
from fluent_ai.chat.stores.codec import parents_first
from fluent_ai.chat.stores.errors import (
    BranchExistsError,
    BranchInUseError,
    DuplicateMessageError,
    MessageNotFoundError,
)
from fluent_ai.chat.stores.postgres_pool import Conn
from fluent_ai.chat.stores.postgres_rows import (
    INSERT_MESSAGE,
    MESSAGE_COLUMNS,
    branch_head,
    load_branches,
    lock_conversation,
    message_from_row,
    message_row,
    write,
)
from fluent_ai.chat.types import Branch, ChatMessage, ConversationRecord

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

_ANCESTORS = (
    "{name}(id) AS (SELECT head_id FROM chat_branches WHERE conversation_id = %s "
    "AND name {op} %s AND head_id IS NOT NULL UNION SELECT m.parent_id FROM chat_messages "
    "AS m JOIN {name} ON m.id = {name}.id WHERE m.parent_id IS NOT NULL)"
)


async def _insert(conn: Conn, messages: Sequence[ChatMessage], session: str | None) -> None:
    """Insert rows as they are (parents set); a re-used id is a ``DuplicateMessageError``."""
    ids = [message.id for message in messages]
    if len(set(ids)) != len(ids):
        raise DuplicateMessageError(sorted({i for i in ids if ids.count(i) > 1}))
    try:
        async with conn.transaction(), conn.cursor() as cursor:
            await cursor.executemany(
                INSERT_MESSAGE,
                [message_row(message, message.parent_id, session) for message in messages],
            )
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name != "chat_messages_pkey":
            raise
        cursor = await conn.execute("SELECT id FROM chat_messages WHERE id = ANY(%s)", (ids,))
        raise DuplicateMessageError([row[0] for row in await cursor.fetchall()]) from None
    await conn.execute(
        "INSERT INTO chat_terms (term) SELECT DISTINCT unnest(tsvector_to_array(search_text)) "
        "FROM chat_messages WHERE id = ANY(%s) ORDER BY 1 ON CONFLICT DO NOTHING",
        (ids,),
    )


async def append(
    conn: Conn,
    conversation_id: str,
    branch: str | None,
    messages: Sequence[ChatMessage],
    now: datetime,
) -> list[ChatMessage]:
    async with write(conn):
        current, session = await lock_conversation(conn, conversation_id)
        name = current if branch is None else branch
        head_id = await branch_head(conn, conversation_id, name)
        if not messages:
            return []
        stored: list[ChatMessage] = []
        for message in messages:
            stored.append(message.model_copy(update={"parent_id": head_id}))
            head_id = message.id
        await _insert(conn, stored, session)
        await conn.execute(
            "UPDATE chat_branches SET head_id = %s WHERE conversation_id = %s AND name = %s",
            (head_id, conversation_id, name),
        )
        await conn.execute(
            "UPDATE chat_conversations SET updated_at = greatest(updated_at, %s) WHERE id = %s",
            (now, conversation_id),
        )
    return stored


async def path(conn: Conn, conversation_id: str, branch: str | None) -> list[ChatMessage]:
    async with conn.transaction():
        if branch is None:
            branch = (await conversations.get(conn, conversation_id)).current_branch
        else:
            await conversations.get(conn, conversation_id)
        head = await branch_head(conn, conversation_id, branch)
        cursor = await conn.execute(
            'WITH RECURSIVE chain(id, depth) AS (SELECT %s::text COLLATE "C", 0 UNION ALL '
            "SELECT m.parent_id, chain.depth + 1 FROM chat_messages AS m "
            "JOIN chain ON m.id = chain.id WHERE m.parent_id IS NOT NULL) "
            f"SELECT {MESSAGE_COLUMNS} FROM chain JOIN chat_messages AS m ON m.id = chain.id "
            "ORDER BY chain.depth DESC",
            (head,),
        )
        rows = await cursor.fetchall()
    return [message_from_row(row) for row in rows]


async def branches(conn: Conn, conversation_id: str) -> list[Branch]:
    await conversations.get(conn, conversation_id)
    return await load_branches(conn, conversation_id)


async def fork(
    conn: Conn, conversation_id: str, at_message_id: str, name: str, now: datetime
) -> Branch:
    async with write(conn):
        await lock_conversation(conn, conversation_id)
        cursor = await conn.execute(
            "SELECT 1 FROM chat_messages WHERE id = %s AND conversation_id = %s",
            (at_message_id, conversation_id),
        )
        if await cursor.fetchone() is None:
            raise MessageNotFoundError([at_message_id])
        cursor = await conn.execute(
            "INSERT INTO chat_branches (conversation_id, name, head_id, forked_from, created_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (conversation_id, name, at_message_id, at_message_id, now),
        )
        if cursor.rowcount == 0:
            raise BranchExistsError(conversation_id, name)
    found = await load_branches(conn, conversation_id)
    return next(branch for branch in found if branch.name == name)


async def switch(conn: Conn, conversation_id: str, name: str, now: datetime) -> ConversationRecord:
    async with write(conn):
        await lock_conversation(conn, conversation_id)
        await branch_head(conn, conversation_id, name)
        await conn.execute(
            "UPDATE chat_conversations SET current_branch = %s, "
            "updated_at = greatest(updated_at, %s) WHERE id = %s",
            (name, now, conversation_id),
        )
    return await conversations.get(conn, conversation_id)


async def delete_branch(conn: Conn, conversation_id: str, name: str) -> int:
    """Drop the branch and the messages no other branch reaches (shared history stays)."""
    async with write(conn):
        current, _ = await lock_conversation(conn, conversation_id)
        await branch_head(conn, conversation_id, name)
        if current == name:
            raise BranchInUseError(conversation_id, name)
        cursor = await conn.execute(
            f"WITH RECURSIVE {_ANCESTORS.format(name='mine', op='=')}, "
            f"{_ANCESTORS.format(name='others', op='<>')} "
            "DELETE FROM chat_messages WHERE id IN (SELECT id FROM mine EXCEPT "
            "SELECT id FROM others)",
            (conversation_id, name, conversation_id, name),
        )
        deleted = cursor.rowcount
        await conn.execute(
            "DELETE FROM chat_branches WHERE conversation_id = %s AND name = %s",
            (conversation_id, name),
        )
    return deleted


async def export(conn: Conn, conversation_id: str) -> ConversationDump:
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        record = await conversations.get(conn, conversation_id)
        found = await load_branches(conn, conversation_id)
        cursor = await conn.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM chat_messages AS m WHERE m.conversation_id = %s "
            "ORDER BY m.created_at, m.id",
            (conversation_id,),
        )
        rows = await cursor.fetchall()
    ordered = parents_first([message_from_row(row) for row in rows])
    return ConversationDump(record=record, branches=list(found), messages=list(ordered))


async def import_conversation(
    conn: Conn,
    record: ConversationRecord,
    branch_list: Sequence[Branch],
    messages: Sequence[ChatMessage],
) -> None:
    ordered = parents_first(messages)
    async with write(conn):
        await conversations.insert(conn, record)
        if ordered:
            await _insert(conn, ordered, record.session)
        async with conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO chat_branches (conversation_id, name, head_id, forked_from, "
                "created_at) VALUES (%s, %s, %s, %s, %s)",
                [(record.id, b.name, b.head_id, b.forked_from, b.created_at) for b in branch_list],
            )
