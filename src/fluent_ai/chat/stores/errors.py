"""Typed errors of the chat stores.

Callers (the agent's persistence, the CLI, the server) map each to one clear answer: a
missing conversation is a 404, a duplicate id a 409, a malformed query a 400 that points
at the problem.
"""

from __future__ import annotations

from collections.abc import Iterable

from fluent_ai.errors import FluentAIError

__all__ = [
    "BranchExistsError",
    "BranchInUseError",
    "BranchNotFoundError",
    "ChatSchemaVersionError",
    "ChatStoreClosedError",
    "ChatStoreError",
    "ConversationExistsError",
    "ConversationNotFoundError",
    "DuplicateMessageError",
    "InvalidChatDataError",
    "InvalidSearchQueryError",
    "MessageNotFoundError",
]


def _ids_text(ids: Iterable[str], limit: int = 5) -> str:
    listed = list(ids)
    shown = ", ".join(listed[:limit])
    return shown + (f" (+{len(listed) - limit} more)" if len(listed) > limit else "")


class ChatStoreError(FluentAIError):
    """Base class of every chat store failure."""


class InvalidChatDataError(ChatStoreError, ValueError):
    """An argument given to a store is malformed (wrong type, empty, out of range)."""


class InvalidSearchQueryError(ChatStoreError, ValueError):
    """The backend's full-text engine rejected a native query (FTS5 MATCH / tsquery)."""


class ChatStoreClosedError(ChatStoreError):
    """The store was used before ``open()`` or after ``close()``."""


class ChatSchemaVersionError(ChatStoreError):
    """The database was written by a newer fluent-ai (its schema version is unknown here)."""


class ConversationNotFoundError(ChatStoreError):
    """No conversation has this id."""

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__(f"no conversation with id {conversation_id}")


class ConversationExistsError(ChatStoreError):
    """A conversation with this id is already stored; nothing was written."""

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__(f"conversation {conversation_id} already exists; nothing was stored")


class MessageNotFoundError(ChatStoreError):
    """No message of the conversation has these ids."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = tuple(ids)
        super().__init__(f"no message with id {_ids_text(self.ids)} in this conversation")


class DuplicateMessageError(ChatStoreError):
    """A batch re-uses a message id that is already stored (or appears twice in it)."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = tuple(ids)
        super().__init__(f"message id already exists: {_ids_text(self.ids)}; nothing was stored")


class BranchNotFoundError(ChatStoreError):
    """The conversation has no branch of this name."""

    def __init__(self, conversation_id: str, name: str) -> None:
        self.conversation_id = conversation_id
        self.name = name
        super().__init__(f"conversation {conversation_id} has no branch {name!r}")


class BranchExistsError(ChatStoreError):
    """The conversation already has a branch of this name."""

    def __init__(self, conversation_id: str, name: str) -> None:
        self.conversation_id = conversation_id
        self.name = name
        super().__init__(f"conversation {conversation_id} already has a branch {name!r}")


class BranchInUseError(ChatStoreError):
    """The conversation's current branch cannot be deleted: switch to another one first."""

    def __init__(self, conversation_id: str, name: str) -> None:
        self.conversation_id = conversation_id
        self.name = name
        super().__init__(
            f"branch {name!r} is the current branch of conversation {conversation_id}: "
            "switch to another branch before deleting it"
        )
