"""Saving a conversation as it happens: every turn lands in the chat store.

A turn is written when it ends, in one transaction: the user's message, then every step
of the answer (tool calls and their results included) with the model, tokens and cost
on the final answer. A turn whose model call fails stores the user's message and a
``status="failed"`` assistant record holding the error, never a half answer presented as
complete. Continuing a conversation (``conversation_id=`` or ``continue_last=True``)
loads the current branch's path as the history, leaving failed turns out, so the model
never sees an unanswered question or an empty answer.

The conversation is created at its first turn (titled after the first question and
tagged with keywords from its first answer, besides the tags given), so a chat that
never says anything leaves nothing behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fluent_ai.agent.arguments import NAME_PATTERN, check_flag
from fluent_ai.errors import InvalidParameterError
from fluent_ai.types import ChatResult, Message, Role

if TYPE_CHECKING:
    from fluent_ai.chat.store import ChatStore
    from fluent_ai.chat.types import ChatMessage, ConversationRecord

__all__ = ["ConversationLog", "PersistSpec", "StoreHandle", "history_from_path", "persist_spec"]

_TITLE_CHARS = 80
_AUTO_TAG_TURNS = (1, 5)  # refresh the keyword tags after these turns


@dataclass(frozen=True, slots=True)
class PersistSpec:
    """Where and how an agent's conversations are saved (see :meth:`AgentBuilder.persist`)."""

    store: str | ChatStore | None = None
    conversation_id: str | None = None
    continue_last: bool = False
    session: str | None = None
    tags: tuple[str, ...] = ()
    title: str | None = None


def persist_spec(
    store: str | Path | ChatStore | None,
    *,
    conversation_id: str | None,
    continue_last: bool,
    session: str | None,
    tags: Sequence[str],
    title: str | None,
) -> PersistSpec:
    """The checked spec for :meth:`AgentBuilder.persist` (errors name the argument)."""
    from fluent_ai.chat.store import ChatStore as StoreType

    if store is not None and not isinstance(store, str | Path | StoreType):
        raise InvalidParameterError(
            "store", f"must be a path, a postgresql:// URL or a ChatStore, got {store!r:.60}"
        )
    if conversation_id is not None and continue_last:
        raise InvalidParameterError("persist", "give conversation_id or continue_last, not both")
    for name, value in (("conversation_id", conversation_id), ("session", session)):
        if value is not None and not (isinstance(value, str) and NAME_PATTERN.fullmatch(value)):
            raise InvalidParameterError(
                name, f"must be letters, digits and _.:@- (1-128), got {value!r:.60}"
            )
    if isinstance(tags, str) or not all(
        isinstance(t, str) and t.strip() and "," not in t and " " not in t.strip() for t in tags
    ):
        raise InvalidParameterError("tags", "must be a list of single words")
    if title is not None and (not isinstance(title, str) or len(title) > 500):
        raise InvalidParameterError("title", "must be text of at most 500 characters")
    return PersistSpec(
        store=str(store) if isinstance(store, Path) else store,
        conversation_id=conversation_id,
        continue_last=check_flag("continue_last", continue_last),
        session=session,
        tags=tuple(t.strip().lower() for t in tags),
        title=title,
    )


def history_from_path(path: Sequence[ChatMessage]) -> list[Message]:
    """The messages a model should see: failed or cancelled turns left out entirely."""
    kept: list[Message] = []
    pending_user: list[Message] = []
    for record in path:
        if record.status != "complete":
            pending_user.clear()  # the question of a failed turn goes too
            continue
        if record.role is Role.USER:
            kept.extend(pending_user)
            pending_user = [record.message]
        else:
            kept.extend(pending_user)
            pending_user = []
            kept.append(record.message)
    kept.extend(pending_user)
    return kept


class StoreHandle:
    """One chat store, opened at first use and shared by every conversation that saves
    there (an agent holds one per location, so a thousand conversations are one
    connection, not a thousand)."""

    def __init__(self, location: str | ChatStore | None) -> None:
        self.location = location
        self._store: ChatStore | None = None
        self._lock: asyncio.Lock | None = None

    async def get(self) -> ChatStore:
        if self._store is not None:
            return self._store
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._store is None:
                from fluent_ai.chat.open import open_chat_store

                store = await asyncio.to_thread(open_chat_store, self.location)
                await store.open()
                self._store = store
        return self._store

    async def aclose(self) -> None:
        """Close the store (it opens again at the next use)."""
        if self._store is not None:
            store, self._store = self._store, None
            await store.close()


class ConversationLog:
    """One conversation's link to the store: loads its history, writes its turns."""

    def __init__(
        self, spec: PersistSpec, handle: StoreHandle, *, agent: str, model: str, primary: bool
    ) -> None:
        self.spec = spec
        self.agent = agent
        self.model = model
        self.primary = primary  # the agent's default conversation takes the spec's id
        self.record: ConversationRecord | None = None
        self.turns = 0
        self._handle = handle
        self._lock = asyncio.Lock()
        self._loaded = False

    @property
    def conversation_id(self) -> str | None:
        return self.record.id if self.record is not None else None

    async def store(self) -> ChatStore:
        return await self._handle.get()

    async def load(self) -> list[Message] | None:
        """The stored history to continue from, once; ``None`` for a new conversation."""
        async with self._lock:
            if self._loaded:
                return None
            self._loaded = True
            if not self.primary or not (self.spec.conversation_id or self.spec.continue_last):
                return None
            store = await self.store()
            if self.spec.conversation_id:
                self.record = await store.get_conversation(self.spec.conversation_id)
            else:
                self.record = await store.last_conversation(self.spec.session)
                if self.record is None:
                    return None
            self.turns = -1  # an existing conversation: keep its title and tags
            return history_from_path(await store.path(self.record.id))

    async def history(self) -> list[Message] | None:
        """The current branch's path as model history, read again from the store.

        For a front end that forked or switched branches in the store (``/branch``): the
        next turn must continue from there. ``None`` while nothing is stored yet.
        """
        async with self._lock:
            if self.record is None:
                return None
            self._loaded = True  # a later load() must not replace what is read here
            store = await self.store()
            return history_from_path(await store.path(self.record.id))

    async def record_turn(
        self, user: Message, steps: Sequence[Message], result: ChatResult
    ) -> None:
        """Store a completed turn: the question, every step, the answer's cost."""
        from fluent_ai.chat.types import ChatMessage

        async with self._lock:
            record = await self._conversation(user)
            # The question carries the model that answered it, so `--model` finds both sides.
            messages = [ChatMessage(conversation_id=record.id, message=user, model=result.model)]
            for index, step in enumerate(steps):
                final = index == len(steps) - 1
                messages.append(
                    ChatMessage(
                        conversation_id=record.id,
                        message=step,
                        model=result.model,
                        input_tokens=result.usage.input_tokens if final else 0,
                        output_tokens=result.usage.output_tokens if final else 0,
                        cost_usd=result.cost_usd if final else None,
                    )
                )
            store = await self.store()
            await store.append(record.id, None, messages)
            if self.turns >= 0:
                self.turns += 1
                if self.turns in _AUTO_TAG_TURNS:
                    await self._tag(store, record)

    async def record_failure(self, user: Message, error: Exception) -> None:
        """Store a failed turn: the question and the error, marked as failed."""
        from fluent_ai.chat.types import ChatMessage

        async with self._lock:
            record = await self._conversation(user)
            failed = ChatMessage(
                conversation_id=record.id,
                message=Message(Role.ASSISTANT, ""),
                model=self.model,
                status="failed",
                error=f"{type(error).__name__}: {error}",
            )
            user_record = ChatMessage(conversation_id=record.id, message=user, model=self.model)
            await (await self.store()).append(record.id, None, [user_record, failed])

    async def _conversation(self, user: Message) -> ConversationRecord:
        if self.record is None:
            from fluent_ai.chat.types import ConversationRecord

            title = self.spec.title or " ".join(user.text.split())[:_TITLE_CHARS]
            self.record = await (await self.store()).create_conversation(
                ConversationRecord(
                    title=title,
                    session=self.spec.session,
                    tags=list(self.spec.tags),
                    agent=self.agent,
                    model=self.model,
                )
            )
        return self.record

    async def _tag(self, store: ChatStore, record: ConversationRecord) -> None:
        from fluent_ai.chat.tags import auto_tags

        path = await store.path(record.id)
        found = auto_tags([m for m in path if m.status == "complete"], title=record.title)
        if found:
            self.record = await store.add_tags(record.id, found)
