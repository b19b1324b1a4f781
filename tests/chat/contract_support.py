"""Helpers for the chat store contract: records, native queries per dialect, child processes.

Child-process bodies are top-level so ``spawn`` can pickle them; each child opens its
own store from a picklable factory, as a separate program would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fluent_ai.chat.store import ChatStore
from fluent_ai.chat.types import ChatMessage, ConversationRecord
from fluent_ai.types import Message

StoreFactory = Callable[[], ChatStore]
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def msg(
    conversation_id: str, text: str, *, n: int = 0, role: str = "user", **fields: object
) -> ChatMessage:
    """A message with a readable id and a creation time ``n`` minutes after T0."""
    fields.setdefault("created_at", T0 + timedelta(minutes=n))
    body = Message.user(text) if role == "user" else Message.assistant(text)
    return ChatMessage(conversation_id=conversation_id, message=body, **fields)


def both(store: ChatStore, *terms: str) -> str:
    """Every term must match."""
    return " AND ".join(terms) if store.dialect == "sqlite" else " & ".join(terms)


def either(store: ChatStore, *terms: str) -> str:
    """Any term may match."""
    return " OR ".join(terms) if store.dialect == "sqlite" else " | ".join(terms)


def phrase(store: ChatStore, *words: str) -> str:
    return '"' + " ".join(words) + '"' if store.dialect == "sqlite" else " <-> ".join(words)


def prefix(store: ChatStore, word: str) -> str:
    return f"{word}*" if store.dialect == "sqlite" else f"{word}:*"


def malformed(store: ChatStore) -> str:
    return "fox AND (" if store.dialect == "sqlite" else "fox & ("


def appender(factory: StoreFactory, conversation_id: str, worker: int, count: int) -> None:
    """Append ``count`` messages one at a time to the conversation's current branch."""

    async def run() -> None:
        async with factory() as store:
            for n in range(count):
                await store.append(
                    conversation_id,
                    None,
                    [msg(conversation_id, f"worker{worker} line{n} shared", id=f"w{worker}-{n}")],
                )

    asyncio.run(run())


def creator(factory: StoreFactory, worker: int) -> None:
    """Create one conversation with one message (another program writing)."""

    async def run() -> None:
        async with factory() as store:
            record = await store.create_conversation(ConversationRecord(id=f"child{worker}"))
            await store.append(record.id, None, [msg(record.id, f"from child {worker}")])

    asyncio.run(run())
