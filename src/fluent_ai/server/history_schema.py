"""Request and response bodies of the history endpoints (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, StrictBool

from fluent_ai.chat.query import MAX_QUERY_LENGTH
from fluent_ai.chat.search import SearchHit, SearchPage
from fluent_ai.chat.types import Branch, ChatMessage, ConversationRecord, MessageStatus
from fluent_ai.message_codec import message_to_dict
from fluent_ai.server.rest_types import (
    SPACE_CLASS,
    IsoDatetime,
    JsonInt,
    check_text,
    not_blank_pattern,
)
from fluent_ai.types import Role

__all__ = [
    "BranchOut",
    "ConversationDeleted",
    "ConversationDetail",
    "ConversationList",
    "ConversationOut",
    "HistorySearchBody",
    "HistorySearchParams",
    "HistorySearchResult",
    "MessageOut",
    "Name",
    "SearchHitOut",
    "TagName",
]


def _text(value: str) -> str:
    check_text(value)
    if not value.strip():
        raise ValueError("must not be blank")
    return value


#: A session or branch name (the chat stores' ``Identifier``).
Name = Annotated[
    str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@\-]*$")
]
#: A tag as the chat stores check one (``[^\s,]+`` in Python's ``re``), without NUL
#: (PostgreSQL text cannot hold one).
TagName = Annotated[str, Field(min_length=1, max_length=64, pattern=rf"^[^,\x00{SPACE_CLASS}]+$")]


class ConversationOut(BaseModel):
    """A conversation's record (its messages are at ``GET /v1/conversations/{id}``)."""

    id: str
    object: Literal["conversation"] = "conversation"
    title: str
    session: str | None
    tags: list[str]
    agent: str
    model: str
    current_branch: str
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, JsonValue]

    @classmethod
    def of(cls, record: ConversationRecord) -> ConversationOut:
        return cls.model_validate(record.model_dump())


class ConversationList(BaseModel):
    """A page of conversations, most recently updated first."""

    object: Literal["list"] = "list"
    data: list[ConversationOut]
    limit: int
    offset: int
    has_more: bool


class BranchOut(BaseModel):
    """A named line of a conversation and its newest message."""

    name: str
    head_id: str | None
    forked_from: str | None
    created_at: datetime

    @classmethod
    def of(cls, branch: Branch) -> BranchOut:
        return cls.model_validate(branch.model_dump(exclude={"conversation_id"}))


class MessageOut(BaseModel):
    """A stored message: ``content`` is its plain text, ``message`` the full message
    (parts, tool calls, reasoning) as the chat store keeps it."""

    id: str
    object: Literal["conversation.message"] = "conversation.message"
    conversation_id: str
    parent_id: str | None
    role: Role
    content: str
    message: dict[str, Any]
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    status: MessageStatus
    error: str | None
    created_at: datetime
    metadata: dict[str, JsonValue]

    @classmethod
    def of(cls, stored: ChatMessage) -> MessageOut:
        data = stored.model_dump(exclude={"message"})
        return cls.model_validate(
            data
            | {
                "role": stored.role,
                "content": stored.text,
                "message": message_to_dict(stored.message),
            }
        )


class ConversationDetail(BaseModel):
    """A conversation with the messages of one branch, root first."""

    conversation: ConversationOut
    branch: str
    branches: list[BranchOut]
    messages: list[MessageOut]


class ConversationDeleted(BaseModel):
    """What ``DELETE /v1/conversations/{id}`` removed."""

    id: str
    object: Literal["conversation.deleted"] = "conversation.deleted"
    deleted: bool = True


class HistorySearchParams(BaseModel):
    """A history search (``GET`` query parameters; ``POST`` takes the same as JSON).

    ``q`` is the history query language: words (all must match), ``"phrases"``,
    ``AND`` / ``OR`` / ``NOT`` (or ``-word``), ``prefix*``, ``fuzzy~`` / ``fuzzy~2``,
    ``NEAR/n(a b)``, parentheses.
    """

    q: Annotated[
        str,
        Field(min_length=1, max_length=MAX_QUERY_LENGTH, json_schema_extra=not_blank_pattern()),
        AfterValidator(_text),
    ]
    role: list[Role] | None = Field(None, description="Only messages of these roles.")
    session: Name | None = None
    tag: list[TagName] | None = Field(
        None, max_length=20, description="The conversation has every one of these tags."
    )
    since: IsoDatetime | None = Field(None, description="Messages from this time on.")
    until: IsoDatetime | None = Field(None, description="Messages before this time.")
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1_000_000)
    semantic: bool | None = Field(
        None, description="Fuse semantic similarity: default when the store has vectors."
    )


class HistorySearchBody(HistorySearchParams):
    """The ``POST`` form of a history search: JSON numbers and booleans, never strings."""

    model_config = ConfigDict(extra="forbid")

    limit: JsonInt = Field(20, ge=1, le=100)
    offset: JsonInt = Field(0, ge=0, le=1_000_000)
    semantic: StrictBool | None = Field(
        None, description="Fuse semantic similarity: default when the store has vectors."
    )


class SearchHitOut(BaseModel):
    """A found message: where it is, how it scored, and a snippet around the match.

    ``snippet`` is plain text with the matched words in ``[`` ``]``; ``highlight`` is the
    same snippet as escaped HTML with ``<mark>`` elements.
    """

    rank: int
    conversation_id: str
    conversation_title: str
    message_id: str
    role: Role
    session: str | None
    tags: list[str]
    model: str
    created_at: datetime
    score: float
    score_parts: dict[str, float | int | None]
    snippet: str
    highlight: str

    @classmethod
    def of(cls, hit: SearchHit) -> SearchHitOut:
        message, conversation = hit.message, hit.conversation
        return cls(
            rank=hit.rank,
            conversation_id=conversation.id,
            conversation_title=conversation.title,
            message_id=message.id,
            role=message.role,
            session=conversation.session,
            tags=list(conversation.tags),
            model=message.model,
            created_at=message.created_at,
            score=hit.score,
            score_parts=hit.parts.as_dict(),
            snippet=hit.snippet,
            highlight=hit.snippet_html,
        )


class HistorySearchResult(BaseModel):
    """A page of search hits in rank order."""

    object: Literal["list"] = "list"
    query: str
    data: list[SearchHitOut]
    limit: int
    offset: int
    has_more: bool
    semantic: bool = Field(description="Whether semantic similarity was fused in.")

    @classmethod
    def of(cls, page: SearchPage) -> HistorySearchResult:
        return cls(
            query=page.query,
            data=[SearchHitOut.of(hit) for hit in page.hits],
            limit=page.limit,
            offset=page.offset,
            has_more=page.has_more,
            semantic=page.semantic,
        )
