"""What the chat store keeps: conversations, their messages, branches.

A conversation is a tree of messages: each message points at its parent, and a branch
is a named leaf (``main`` first). Forking at message N adds a branch whose head is N;
the next message written on that branch hangs under N. The path from a branch's head
back to the root is what the model sees as history, so no message is ever copied and
search finds each message once.

``message`` is the full :class:`fluent_ai.types.Message` (parts, tool calls with their
signatures, signed reasoning), stored through :mod:`fluent_ai.message_codec`, so a
continued conversation replays exactly; ``text`` is its plain text, for search and
export. A turn whose model call failed keeps the user's message and records the
failure in ``error`` on a ``status="failed"`` assistant record with no content, never
a half answer presented as complete.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    field_serializer,
    field_validator,
)

from fluent_ai.message_codec import message_from_dict, message_to_dict
from fluent_ai.types import Message, Role

__all__ = [
    "MAIN_BRANCH",
    "Branch",
    "ChatMessage",
    "ConversationRecord",
    "HistoryFilter",
    "MessageStatus",
    "ScoredMessage",
    "new_id",
    "utc_now",
]

MAIN_BRANCH = "main"
MessageStatus = Literal["complete", "failed", "cancelled"]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:@\-]*$"
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=_NAME)]
Tag = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s,]+$")]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """32 hex digits that sort by creation time (48 bits of ms, 80 random)."""
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class ConversationRecord(BaseModel):
    """One conversation: its title, session, tags and which branch is current."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    id: Identifier = Field(default_factory=new_id)
    title: str = Field("", max_length=500)
    session: Identifier | None = None
    tags: list[Tag] = Field(default_factory=list)
    agent: str = ""
    model: str = ""
    current_branch: Identifier = MAIN_BRANCH
    created_at: UtcDatetime = Field(default_factory=utc_now)
    updated_at: UtcDatetime = Field(default_factory=utc_now)
    metadata: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        return sorted({tag.lower() for tag in tags})


class Branch(BaseModel):
    """A named line of a conversation: its newest message (``None`` while empty)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conversation_id: Identifier
    name: Identifier
    head_id: Identifier | None = None
    forked_from: Identifier | None = None  # the message this branch was forked at
    created_at: UtcDatetime = Field(default_factory=utc_now)


class ChatMessage(BaseModel):
    """One stored message and what it cost."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)

    id: Identifier = Field(default_factory=new_id)
    conversation_id: Identifier
    parent_id: Identifier | None = None
    message: Message
    model: str = ""
    input_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(0, ge=0)
    cost_usd: float | None = Field(None, ge=0)
    status: MessageStatus = "complete"
    error: str | None = None
    created_at: UtcDatetime = Field(default_factory=utc_now)
    metadata: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("message", mode="before")
    @classmethod
    def _message(cls, value: Any) -> Message:
        return value if isinstance(value, Message) else message_from_dict(value)

    @field_serializer("message")
    def _dump_message(self, value: Message) -> dict[str, Any]:
        return message_to_dict(value)

    @property
    def role(self) -> Role:
        return self.message.role

    @property
    def text(self) -> str:
        """The plain text (what search indexes and text exports show)."""
        return self.message.text


class HistoryFilter(BaseModel):
    """What a history search or listing is limited to (all given conditions must hold)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    since: UtcDatetime | None = None  # inclusive
    until: UtcDatetime | None = None  # exclusive
    roles: frozenset[Role] | None = None
    session: Identifier | None = None
    tags: frozenset[str] = frozenset()  # the conversation has every one of these
    model: str | None = None  # exact model spec, e.g. openai:gpt-4o-mini
    conversation_id: Identifier | None = None


class ScoredMessage(BaseModel):
    """A search hit: a message id and its score (higher is better)."""

    model_config = ConfigDict(frozen=True)

    id: str
    score: float
