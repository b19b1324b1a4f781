"""A room's messages kept as one conversation of the chat store.

Each room maps to the conversation ``room:{name}`` (a fixed id, so every replica and a
restarted server find the same one) in the session ``rooms``; ``fluent-ai history`` and
the history endpoints see rooms like any other conversation. People's messages are
``user`` messages and the agent's replies ``assistant`` messages; the speaker's name is in
``metadata["user"]``. The room's agent is the conversation's ``agent`` field.
"""

from __future__ import annotations

from typing import Any, Final

from fluent_ai.chat.store import (
    ChatStore,
    ConversationExistsError,
    ConversationNotFoundError,
    MessageNotFoundError,
)
from fluent_ai.chat.types import ChatMessage, ConversationRecord, MessageStatus, new_id
from fluent_ai.types import Message, Usage

__all__ = ["ROOM_SESSION", "RoomArchive", "conversation_id", "message_event"]

#: The chat-store session every room's conversation is filed under.
ROOM_SESSION: Final = "rooms"


def conversation_id(room: str) -> str:
    """The conversation holding ``room`` (room names are valid id characters already)."""
    return f"room:{room}"


def _timestamp(message: ChatMessage) -> str:
    return message.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_event(room: str, message: ChatMessage) -> dict[str, Any]:
    """A stored message as the protocol's ``message`` event."""
    user = message.metadata.get("user")
    event: dict[str, Any] = {
        "type": "message",
        "room": room,
        "id": message.id,
        "user": user if isinstance(user, str) else message.role.value,
        "text": message.text,
        "ts": _timestamp(message),
    }
    client_id = message.metadata.get("client_id")
    if isinstance(client_id, str):
        event["client_id"] = client_id
    return event


class RoomArchive:
    """Reads and writes rooms in a chat store (opened and closed by its owner)."""

    def __init__(self, store: ChatStore) -> None:
        self.store = store

    async def record(self, room: str) -> ConversationRecord:
        """The room's conversation, created on first use (by whichever replica is first)."""
        cid = conversation_id(room)
        try:
            record = await self.store.get_conversation(cid)
        except ConversationNotFoundError:
            fresh = ConversationRecord(
                id=cid, title=f"#{room}", session=ROOM_SESSION, metadata={"room": room}
            )
            try:
                record = await self.store.create_conversation(fresh)
            except ConversationExistsError:  # another replica created it meanwhile
                record = await self.store.get_conversation(cid)
        return record

    async def agent(self, room: str) -> str | None:
        """The agent answering in ``room`` (``None``: nobody)."""
        return (await self.record(room)).agent or None

    async def set_agent(self, room: str, spec: str | None) -> None:
        record = await self.record(room)
        if record.agent != (spec or ""):
            await self.store.update_conversation(record.model_copy(update={"agent": spec or ""}))

    async def add_message(
        self, room: str, user: str, text: str, client_id: str | None = None
    ) -> ChatMessage:
        """Store a person's message; returns it as stored (its id and time are final)."""
        metadata: dict[str, Any] = {"user": user}
        if client_id is not None:
            metadata["client_id"] = client_id
        return await self._append(room, Message.user(text), metadata=metadata)

    async def add_reply(
        self,
        room: str,
        *,
        reply_id: str,
        user: str,
        text: str,
        model: str = "",
        usage: Usage | None = None,
        cost_usd: float | None = None,
        status: MessageStatus = "complete",
        error: str | None = None,
    ) -> ChatMessage:
        """Store an agent's reply (a failed one with ``status="failed"`` and no text)."""
        usage = usage or Usage()
        return await self._append(
            room,
            Message.assistant(text),
            message_id=reply_id,
            metadata={"user": user},
            model=model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=cost_usd,
            status=status,
            error=error,
        )

    async def _append(
        self,
        room: str,
        message: Message,
        *,
        message_id: str | None = None,
        metadata: dict[str, Any],
        **fields: Any,
    ) -> ChatMessage:
        cid = conversation_id(room)
        item = ChatMessage(
            id=message_id or new_id(),
            conversation_id=cid,
            message=message,
            metadata=metadata,
            **fields,
        )
        try:
            (stored,) = await self.store.append(cid, None, [item])
        except ConversationNotFoundError:  # the room's first message (or it was deleted)
            await self.record(room)
            (stored,) = await self.store.append(cid, None, [item])
        return stored

    async def history(
        self, room: str, *, limit: int, before: str | None = None, through: str | None = None
    ) -> list[ChatMessage]:
        """Up to ``limit`` complete messages, oldest first.

        ``before``: only messages older than this one; ``through``: up to and including
        this one. An id the room does not have is a ``MessageNotFoundError``.
        """
        try:
            path = await self.store.path(conversation_id(room))
        except ConversationNotFoundError:
            if before or through:
                raise MessageNotFoundError([before or through or ""]) from None
            return []
        messages = [m for m in path if m.status == "complete"]
        for anchor, keep in ((before, 0), (through, 1)):
            if anchor is not None:
                index = next((i for i, m in enumerate(messages) if m.id == anchor), None)
                if index is None:
                    raise MessageNotFoundError([anchor])
                messages = messages[: index + keep]
        return messages[-limit:]
