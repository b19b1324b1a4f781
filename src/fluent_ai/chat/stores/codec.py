"""What both chat backends share about turning records into stored values and back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from fluent_ai.chat.stores.errors import InvalidChatDataError
from fluent_ai.chat.types import Branch, ChatMessage, ConversationRecord, MessageStatus
from fluent_ai.message_codec import message_from_dict, message_to_dict

__all__ = [
    "branch_from",
    "chat_message_from",
    "conversation_from",
    "dump_json",
    "message_json",
    "parents_first",
]


def dump_json(value: Any) -> str:
    """Compact JSON, as stored."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def message_json(message: ChatMessage) -> str:
    return dump_json(message_to_dict(message.message))


def chat_message_from(
    *,
    id: str,
    conversation_id: str,
    parent_id: str | None,
    message: str,
    model: str,
    input_tokens: int,
    output_tokens: int,
    cost_usd: float | None,
    status: str,
    error: str | None,
    created_at: datetime,
    metadata: Any,
) -> ChatMessage:
    """A stored message, built without re-validating what was validated on the way in."""
    return ChatMessage.model_construct(
        id=id,
        conversation_id=conversation_id,
        parent_id=parent_id,
        message=message_from_dict(json.loads(message)),
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost_usd,
        status=cast(MessageStatus, status),
        error=error,
        created_at=created_at,
        metadata=json.loads(metadata) if isinstance(metadata, str) else metadata,
    )


def conversation_from(
    *,
    id: str,
    title: str,
    session: str | None,
    tags: list[str],
    agent: str,
    model: str,
    current_branch: str,
    created_at: datetime,
    updated_at: datetime,
    metadata: Any,
) -> ConversationRecord:
    return ConversationRecord.model_construct(
        id=id,
        title=title,
        session=session,
        tags=sorted(tags),
        agent=agent,
        model=model,
        current_branch=current_branch,
        created_at=created_at,
        updated_at=updated_at,
        metadata=json.loads(metadata) if isinstance(metadata, str) else metadata,
    )


def branch_from(
    conversation_id: str,
    name: str,
    head_id: str | None,
    forked_from: str | None,
    created_at: datetime,
) -> Branch:
    return Branch.model_construct(
        conversation_id=conversation_id,
        name=name,
        head_id=head_id,
        forked_from=forked_from,
        created_at=created_at,
    )


def parents_first(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """``messages`` reordered so that each parent comes before its children.

    The order among siblings is kept; a parent cycle (impossible in a real history) is
    refused, since no order could store it.
    """
    by_id = {message.id: message for message in messages}
    placed: set[str] = set()
    ordered: list[ChatMessage] = []
    for message in messages:
        chain: list[ChatMessage] = []
        seen: set[str] = set()
        current: ChatMessage | None = message
        while current is not None and current.id not in placed:
            if current.id in seen:
                raise InvalidChatDataError(f"message {current.id}'s parents form a cycle")
            seen.add(current.id)
            chain.append(current)
            parent = current.parent_id
            current = by_id.get(parent) if parent is not None else None
        for item in reversed(chain):
            placed.add(item.id)
            ordered.append(item)
    return ordered
