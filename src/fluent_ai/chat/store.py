"""The contract every chat history backend implements (SQLite, PostgreSQL).

The agent's persistence, the history search service, export and import are built on
these calls alone, so a backend is complete when the contract suite
(``tests/chat/contract.py``) passes on it. Rules every implementation follows:

- every method is async and never blocks the event loop;
- every write is one transaction: a batch is stored whole or not at all, and
  :meth:`ChatStore.generation` changes with every committed write;
- changes made by other processes on the same store are visible to the next call;
- ids are kept as given (an import is lossless), and times round-trip to the microsecond.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt

from fluent_ai.chat.export_dump import ConversationDump
from fluent_ai.chat.stores.errors import (
    BranchExistsError,
    BranchInUseError,
    BranchNotFoundError,
    ChatSchemaVersionError,
    ChatStoreClosedError,
    ChatStoreError,
    ConversationExistsError,
    ConversationNotFoundError,
    DuplicateMessageError,
    InvalidChatDataError,
    InvalidSearchQueryError,
    MessageNotFoundError,
)
from fluent_ai.chat.types import (
    Branch,
    ChatMessage,
    ConversationRecord,
    HistoryFilter,
    ScoredMessage,
)

__all__ = [
    "BranchExistsError",
    "BranchInUseError",
    "BranchNotFoundError",
    "ChatSchemaVersionError",
    "ChatStore",
    "ChatStoreClosedError",
    "ChatStoreError",
    "ConversationDump",
    "ConversationExistsError",
    "ConversationNotFoundError",
    "Dialect",
    "DuplicateMessageError",
    "InvalidChatDataError",
    "InvalidSearchQueryError",
    "MessageNotFoundError",
    "SessionSummary",
    "TagCount",
    "Vector",
    "VectorLike",
]

Dialect = Literal["sqlite", "postgres"]
Vector = npt.NDArray[np.float32]
#: What vector arguments accept: a float32 array, or any 1-D numbers (converted).
VectorLike = npt.NDArray[np.floating[Any]] | Sequence[float]


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """A session and how much it holds (``fluent-ai history sessions``, ``/session list``)."""

    session: str
    conversations: int
    messages: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TagCount:
    """A tag and how many conversations carry it."""

    tag: str
    conversations: int


class ChatStore(ABC):
    """An async, transactional home for conversations, their branches and messages."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    @abstractmethod
    def dialect(self) -> Dialect:
        """Which full-text syntax :meth:`search_text` takes: FTS5 MATCH or tsquery text."""

    @abstractmethod
    async def open(self) -> None:
        """Connect and bring the schema up to date. Opening an open store does nothing."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections and threads. Closing twice does nothing."""

    @abstractmethod
    async def generation(self) -> int:
        """A number that changes with every committed write, by any process.

        Read it *before* reading results to cache: a result cached under a generation
        is then never older than that generation.
        """

    # -- conversations ------------------------------------------------------------------

    @abstractmethod
    async def create_conversation(self, record: ConversationRecord) -> ConversationRecord:
        """Store a new conversation with an empty ``record.current_branch`` branch."""

    @abstractmethod
    async def get_conversation(self, conversation_id: str) -> ConversationRecord:
        """The conversation (``ConversationNotFoundError`` when there is none)."""

    @abstractmethod
    async def update_conversation(self, record: ConversationRecord) -> ConversationRecord:
        """Replace title, session, tags, agent, model, current branch and metadata.

        ``created_at`` stays as stored; ``updated_at`` becomes now. The current branch must
        exist. Returns the stored record.
        """

    @abstractmethod
    async def delete_conversation(self, conversation_id: str) -> bool:
        """Delete a conversation with its branches, messages, tags and vectors."""

    @abstractmethod
    async def list_conversations(
        self,
        *,
        session: str | None = None,
        tag: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[ConversationRecord]:
        """A page of conversations, most recently updated first.

        ``since`` (inclusive) and ``until`` (exclusive) bound ``updated_at``.
        """

    @abstractmethod
    async def last_conversation(self, session: str | None = None) -> ConversationRecord | None:
        """The most recently updated conversation (of ``session``): ``fluent-ai chat -c``."""

    # -- messages -----------------------------------------------------------------------

    @abstractmethod
    async def append(
        self, conversation_id: str, branch: str | None, messages: Sequence[ChatMessage]
    ) -> list[ChatMessage]:
        """Append messages in order under the branch's head (``None``: the current branch).

        Each message's ``parent_id`` is set to the one before it (the first one's to the
        head), the head moves to the last one and ``updated_at`` becomes now, all in one
        transaction. Returns the messages as stored.
        """

    @abstractmethod
    async def get_messages(self, ids: Sequence[str]) -> list[ChatMessage]:
        """The messages with these ids, in the order asked; unknown ids are left out."""

    @abstractmethod
    async def path(self, conversation_id: str, branch: str | None = None) -> list[ChatMessage]:
        """Root to head of a branch (``None``: the current one): what the model sees."""

    # -- branches -----------------------------------------------------------------------

    @abstractmethod
    async def list_branches(self, conversation_id: str) -> list[Branch]:
        """The conversation's branches, oldest first."""

    @abstractmethod
    async def fork(self, conversation_id: str, at_message_id: str, name: str) -> Branch:
        """A new branch whose head is ``at_message_id`` (a message of this conversation)."""

    @abstractmethod
    async def switch_branch(self, conversation_id: str, name: str) -> ConversationRecord:
        """Make ``name`` the current branch."""

    @abstractmethod
    async def delete_branch(self, conversation_id: str, name: str) -> int:
        """Delete a branch that is not current, and the messages only it reached.

        Returns how many messages went with it (shared ancestors stay).
        """

    # -- sessions and tags --------------------------------------------------------------

    @abstractmethod
    async def sessions(self) -> list[SessionSummary]:
        """Every session with its counts, most recently updated first."""

    @abstractmethod
    async def add_tags(self, conversation_id: str, tags: Sequence[str]) -> ConversationRecord:
        """Add tags (lower-cased; ones already there are kept once)."""

    @abstractmethod
    async def remove_tags(self, conversation_id: str, tags: Sequence[str]) -> ConversationRecord:
        """Remove tags (ones not there are ignored)."""

    @abstractmethod
    async def tags(self) -> list[TagCount]:
        """Every tag with its number of conversations, most used first, then by name."""

    # -- search primitives --------------------------------------------------------------

    @abstractmethod
    async def search_text(
        self,
        native_query: str,
        filter: HistoryFilter | None = None,
        *,
        limit: int = 10,
        offset: int = 0,
    ) -> list[ScoredMessage]:
        """Messages matching a native full-text query, best first (BM25; higher is better).

        ``native_query`` is an FTS5 MATCH expression (dialect ``sqlite``) or
        ``to_tsquery`` text (``postgres``); one the engine rejects is an
        ``InvalidSearchQueryError``.
        """

    @abstractmethod
    async def vocabulary(self, starts_with: str = "", *, limit: int = 100) -> list[str]:
        """Indexed terms (lower-cased, stemmed) starting with ``starts_with``, sorted.

        For expanding ``prefix*`` and ``fuzzy~`` query words into real terms. A term may
        outlive the messages that had it (PostgreSQL keeps a term table that deletions do
        not prune); expanding to it then simply matches nothing.
        """

    @abstractmethod
    async def count_messages(self, filter: HistoryFilter | None = None) -> int:
        """How many messages pass the filter."""

    @abstractmethod
    async def put_vectors(self, model: str, vectors: Mapping[str, VectorLike]) -> None:
        """Store (or replace) ``model``'s embedding of each message, in one transaction.

        A model's first vector fixes its dimension; unknown message ids are a
        ``MessageNotFoundError`` and store nothing.
        """

    @abstractmethod
    async def vector_search(
        self,
        model: str,
        vector: VectorLike,
        k: int = 10,
        filter: HistoryFilter | None = None,
    ) -> list[ScoredMessage]:
        """The ``k`` messages most similar to ``vector`` (cosine, highest first)."""

    @abstractmethod
    async def messages_without_vectors(self, model: str, limit: int = 100) -> list[ChatMessage]:
        """Messages with text but no ``model`` vector yet, oldest first (for backfill)."""

    # -- export and import --------------------------------------------------------------

    @abstractmethod
    async def export_conversation(self, conversation_id: str) -> ConversationDump:
        """The conversation, every branch and every message of every branch."""

    @abstractmethod
    async def import_conversation(
        self,
        record: ConversationRecord,
        branches: Sequence[Branch],
        messages: Sequence[ChatMessage],
    ) -> None:
        """Store an exported conversation as it was (ids, times, heads), in one transaction.

        Every parent and branch head must be among ``messages``; the conversation id and
        message ids must be new (``ConversationExistsError``, ``DuplicateMessageError``).
        """
