"""The public half every chat backend shares: argument checks, then one backend call.

A backend subclasses :class:`CheckedChatStore` and implements :meth:`_call`, which runs
the named operation (``create_conversation``, ``search_text`` …) on its own connection
with already-validated arguments. Validation therefore happens once, the same way for
every backend, before any I/O.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from fluent_ai.chat.store import ChatStore, ConversationDump, SessionSummary, TagCount, VectorLike
from fluent_ai.chat.stores.validation import (
    check_branch_name,
    check_dump,
    check_filter,
    check_id,
    check_ids,
    check_instant,
    check_k,
    check_messages,
    check_model,
    check_page,
    check_prefix,
    check_query,
    check_query_vector,
    check_record,
    check_tag,
    check_tags,
    check_vectors,
)
from fluent_ai.chat.types import (
    Branch,
    ChatMessage,
    ConversationRecord,
    HistoryFilter,
    ScoredMessage,
    utc_now,
)

__all__ = ["CheckedChatStore"]


def _cid(value: object) -> str:
    return check_id(value, "conversation id")


class CheckedChatStore(ChatStore):
    """A :class:`ChatStore` whose methods validate, then delegate to :meth:`_call`."""

    @abstractmethod
    async def _call(self, operation: str, *args: object) -> Any:
        """Run the backend's ``operation`` with these (validated) arguments."""

    async def create_conversation(self, record: ConversationRecord) -> ConversationRecord:
        found = await self._call("create_conversation", check_record(record))
        return cast(ConversationRecord, found)

    async def get_conversation(self, conversation_id: str) -> ConversationRecord:
        return cast(ConversationRecord, await self._call("get_conversation", _cid(conversation_id)))

    async def update_conversation(self, record: ConversationRecord) -> ConversationRecord:
        found = await self._call("update_conversation", check_record(record), utc_now())
        return cast(ConversationRecord, found)

    async def delete_conversation(self, conversation_id: str) -> bool:
        return bool(await self._call("delete_conversation", _cid(conversation_id)))

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
        found = await self._call(
            "list_conversations",
            None if session is None else check_id(session, "session"),
            None if tag is None else check_tag(tag),
            check_instant(since, "since"),
            check_instant(until, "until"),
            *check_page(limit, offset),
        )
        return cast(list[ConversationRecord], found)

    async def last_conversation(self, session: str | None = None) -> ConversationRecord | None:
        checked = None if session is None else check_id(session, "session")
        return cast(ConversationRecord | None, await self._call("last_conversation", checked))

    async def append(
        self, conversation_id: str, branch: str | None, messages: Sequence[ChatMessage]
    ) -> list[ChatMessage]:
        checked_id = _cid(conversation_id)
        name = None if branch is None else check_branch_name(branch)
        batch = check_messages(messages, checked_id)
        found = await self._call("append", checked_id, name, batch, utc_now())
        return cast(list[ChatMessage], found)

    async def get_messages(self, ids: Sequence[str]) -> list[ChatMessage]:
        return cast(list[ChatMessage], await self._call("get_messages", check_ids(ids)))

    async def path(self, conversation_id: str, branch: str | None = None) -> list[ChatMessage]:
        name = None if branch is None else check_branch_name(branch)
        return cast(list[ChatMessage], await self._call("path", _cid(conversation_id), name))

    async def list_branches(self, conversation_id: str) -> list[Branch]:
        return cast(list[Branch], await self._call("list_branches", _cid(conversation_id)))

    async def fork(self, conversation_id: str, at_message_id: str, name: str) -> Branch:
        found = await self._call(
            "fork",
            _cid(conversation_id),
            check_id(at_message_id, "message id"),
            check_branch_name(name),
            utc_now(),
        )
        return cast(Branch, found)

    async def switch_branch(self, conversation_id: str, name: str) -> ConversationRecord:
        found = await self._call(
            "switch_branch", _cid(conversation_id), check_branch_name(name), utc_now()
        )
        return cast(ConversationRecord, found)

    async def delete_branch(self, conversation_id: str, name: str) -> int:
        found = await self._call("delete_branch", _cid(conversation_id), check_branch_name(name))
        return int(found)

    async def sessions(self) -> list[SessionSummary]:
        return cast(list[SessionSummary], await self._call("sessions"))

    async def add_tags(self, conversation_id: str, tags: Sequence[str]) -> ConversationRecord:
        found = await self._call("add_tags", _cid(conversation_id), check_tags(tags))
        return cast(ConversationRecord, found)

    async def remove_tags(self, conversation_id: str, tags: Sequence[str]) -> ConversationRecord:
        found = await self._call("remove_tags", _cid(conversation_id), check_tags(tags))
        return cast(ConversationRecord, found)

    async def tags(self) -> list[TagCount]:
        return cast(list[TagCount], await self._call("tags"))

    async def search_text(
        self,
        native_query: str,
        filter: HistoryFilter | None = None,
        *,
        limit: int = 10,
        offset: int = 0,
    ) -> list[ScoredMessage]:
        query, spec = check_query(native_query), check_filter(filter)
        found = await self._call("search_text", query, spec, *check_page(limit, offset))
        return cast(list[ScoredMessage], found)

    async def vocabulary(self, starts_with: str = "", *, limit: int = 100) -> list[str]:
        prefix, (count, _) = check_prefix(starts_with), check_page(limit, 0)
        return cast(list[str], await self._call("vocabulary", prefix, count))

    async def count_messages(self, filter: HistoryFilter | None = None) -> int:
        return int(await self._call("count_messages", check_filter(filter)))

    async def put_vectors(self, model: str, vectors: Mapping[str, VectorLike]) -> None:
        checked_model, checked = check_model(model), check_vectors(vectors)
        if checked:
            await self._call("put_vectors", checked_model, checked)

    async def vector_search(
        self,
        model: str,
        vector: VectorLike,
        k: int = 10,
        filter: HistoryFilter | None = None,
    ) -> list[ScoredMessage]:
        args = (check_model(model), check_query_vector(vector), check_k(k), check_filter(filter))
        return cast(list[ScoredMessage], await self._call("vector_search", *args))

    async def messages_without_vectors(self, model: str, limit: int = 100) -> list[ChatMessage]:
        count, _ = check_page(limit, 0)
        found = await self._call("messages_without_vectors", check_model(model), count)
        return cast(list[ChatMessage], found)

    async def export_conversation(self, conversation_id: str) -> ConversationDump:
        found = await self._call("export_conversation", _cid(conversation_id))
        return cast(ConversationDump, found)

    async def import_conversation(
        self,
        record: ConversationRecord,
        branches: Sequence[Branch],
        messages: Sequence[ChatMessage],
    ) -> None:
        await self._call("import_conversation", *check_dump(record, branches, messages))
