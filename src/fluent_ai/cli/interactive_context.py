"""The terminal's :class:`~fluent_ai.chat.commands.CommandContext`: commands over this chat.

The slash commands reach the history through this class: it answers them from the chat
store the agent saves to (its own connection to the same location, opened at the first
command that needs it), searches with :class:`~fluent_ai.chat.search.HistorySearch`,
and keeps the session's templates, macros, theme and debug state. Switching what the
next turn talks to (a new conversation, another branch, another model) is delegated to
:class:`~fluent_ai.cli.interactive_context_session.ChatSession`, and :meth:`apply` carries
out the actions that concern it.

Tab completion must not wait on the store, so branch, session, conversation and tool
names are kept in a cache that :meth:`TerminalContext.refresh_names` renews after each line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fluent_ai.agent.persistence import history_from_path
from fluent_ai.chat.commands import (
    Action,
    ChangeSetting,
    ClearHistory,
    ConversationStats,
    ExportFormat,
    LoadConversation,
    NameSource,
    SwitchBranch,
    SwitchSession,
)
from fluent_ai.chat.export import file_extension
from fluent_ai.chat.macros import MacroRecorder, MacroStore
from fluent_ai.chat.open import open_chat_store
from fluent_ai.chat.search import HistorySearch, SearchHit
from fluent_ai.chat.store import (
    ChatStore,
    ChatStoreError,
    ConversationNotFoundError,
    InvalidChatDataError,
)
from fluent_ai.chat.templates import TemplateStore
from fluent_ai.chat.types import Branch, ConversationRecord, HistoryFilter
from fluent_ai.cli.history_io import all_conversation_ids
from fluent_ai.cli.interactive_context_files import read_import, write_export
from fluent_ai.cli.interactive_context_session import ChatSession, SessionError
from fluent_ai.config import Settings, load_settings

if TYPE_CHECKING:
    from fluent_ai.agent.agent import Agent
    from fluent_ai.embeddings import Embedder
    from fluent_ai.tools.tool import Tool

__all__ = ["ChatSession", "SessionError", "TerminalContext"]

_log = logging.getLogger("fluent_ai.cli")
_PAGE = 500
_RECENT_NAMES = 50


class TerminalContext:
    """One terminal chat's command context; create it with :meth:`open`, end with
    :meth:`aclose`."""

    def __init__(
        self,
        chat: ChatSession,
        store: ChatStore,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        theme: str = "dark",
        debug: bool = False,
    ) -> None:
        self.chat = chat
        self.store = store
        self.settings = settings
        self.searcher = HistorySearch(store, embedder)
        self.templates = TemplateStore.in_home(settings.home)
        self.macros = MacroStore.in_home(settings.home)
        self.macro_recorder = MacroRecorder()
        self.theme = theme
        self.debug = debug
        self.export_dir: Path = Path.cwd()
        self._store_used = False
        self._names: dict[NameSource, list[str]] = {
            "tool": sorted(tool.name for tool in chat.agent.config.tools)
        }

    @classmethod
    async def open(
        cls,
        agent: Agent,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        theme: str = "dark",
        debug: bool = False,
    ) -> TerminalContext:
        """The context for ``agent``'s chat, on the store it saves to (the
        ``history_store`` setting unless the agent names another); the conversation
        ``-c`` / ``--cid`` asked for is loaded now, so a wrong id fails at once."""
        if settings is None:
            settings = await asyncio.to_thread(load_settings)
        persist = agent.config.persist
        location = persist.store if persist is not None else None
        store = await asyncio.to_thread(open_chat_store, location or settings.history_store)
        text_location = location if isinstance(location, str) else settings.history_store
        chat = ChatSession(agent, text_location)
        await chat.start()
        context = cls(chat, store, settings, embedder=embedder, theme=theme, debug=debug)
        await context.refresh_names()
        return context

    async def aclose(self) -> None:
        """Stop the agent (MCP servers, its store connection) and close the store."""
        try:
            await self.chat.aclose()
        finally:
            await self.store.close()

    async def history(self) -> ChatStore:
        """The chat store, opened at its first use: a chat that never touches the history
        (``--no-save``, no history command) leaves no file behind."""
        await self.store.open()
        self._store_used = True
        return self.store

    # -- actions ----------------------------------------------------------------------------

    async def apply(self, action: Action) -> bool:
        """Carry out a conversation action; ``False`` if it is not one (the front end's)."""
        if isinstance(action, ClearHistory):
            await self.chat.clear()
        elif isinstance(action, SwitchBranch):
            conversation_id = self.chat.stored_id("switch branches")
            await (await self.history()).switch_branch(conversation_id, action.name)
            await self.chat.reload()
        elif isinstance(action, LoadConversation):
            path = await (await self.history()).path(action.conversation_id)
            await self.chat.load(action.conversation_id, history_from_path(path))
        elif isinstance(action, SwitchSession):
            self.chat.switch_session(action.name)
        elif isinstance(action, ChangeSetting):
            await self.chat.change_setting(action.key, action.value)
        else:
            return False
        return True

    # -- what the commands read -----------------------------------------------------------

    def chat_settings(self) -> Mapping[str, object]:
        return self.chat.chat_settings()

    def completion_names(self, source: NameSource) -> Sequence[str]:
        return self._names.get(source, [])

    async def refresh_names(self) -> None:
        """Renew the names tab completion offers (a store failure keeps the old ones);
        nothing is read before the store is in use."""
        if not (self._store_used or self.chat.conversation_id is not None):
            return
        store = await self.history()
        try:
            recent = await store.list_conversations(limit=_RECENT_NAMES)
            sessions = await store.sessions()
            conversation_id = self.chat.conversation_id
            branches = await store.list_branches(conversation_id) if conversation_id else []
        except ChatStoreError as exc:
            _log.debug("completion names not refreshed: %s", exc)
            return
        self._names["conversation"] = [record.id for record in recent]
        self._names["session"] = [summary.session for summary in sessions]
        self._names["branch"] = [branch.name for branch in branches]

    async def tools(self) -> Mapping[str, Tool]:
        tools = await self.chat.agent.tools()
        self._names["tool"] = sorted(tools)
        return tools

    async def stats(self) -> ConversationStats:
        stored = self.chat.conversation_id is not None
        return await self.chat.stats(await self.history() if stored else None)

    # -- the stored history ---------------------------------------------------------------

    async def search(
        self, query: str, filters: HistoryFilter, *, limit: int, offset: int
    ) -> Sequence[SearchHit]:
        await self.history()
        page = await self.searcher.search(query, filters, limit=limit, offset=offset)
        return page.hits

    async def recent_conversations(
        self, filters: HistoryFilter, *, limit: int
    ) -> Sequence[ConversationRecord]:
        """Newest first; the tag and model conditions the store cannot apply are checked here."""
        store = await self.history()
        tags = sorted(filters.tags)
        found: list[ConversationRecord] = []
        offset = 0
        while len(found) < limit:
            page = await store.list_conversations(
                session=filters.session,
                tag=tags[0] if tags else None,
                since=filters.since,
                until=filters.until,
                limit=_PAGE,
                offset=offset,
            )
            found.extend(
                record
                for record in page
                if filters.tags.issubset(record.tags)
                and (filters.model is None or record.model == filters.model)
            )
            if len(page) < _PAGE:
                break
            offset += len(page)
        return found[:limit]

    async def list_branches(self) -> Sequence[Branch]:
        store = await self.history()
        conversation_id = self.chat.conversation_id
        return await store.list_branches(conversation_id) if conversation_id else []

    async def create_branch(self, name: str, at: int | None) -> Branch:
        store = await self.history()
        conversation_id = self.chat.stored_id("fork a branch")
        path = await store.path(conversation_id)
        if not path:
            raise SessionError("the current branch has no messages to fork at")
        number = len(path) if at is None else at
        if not 1 <= number <= len(path):
            raise SessionError(f"no message number {number}: this branch has 1 to {len(path)}")
        return await store.fork(conversation_id, path[number - 1].id, name)

    async def delete_branch(self, name: str) -> None:
        store = await self.history()
        await store.delete_branch(self.chat.stored_id("delete branches"), name)

    async def list_sessions(self) -> Sequence[str]:
        store = await self.history()
        return [summary.session for summary in await store.sessions()]

    async def save_conversation(self, title: str | None, tags: Sequence[str]) -> ConversationRecord:
        """Title and tag the stored conversation; one not stored yet is stored now, with
        the history so far (which also turns saving on after ``--no-save``)."""
        store = await self.history()
        conversation_id = self.chat.conversation_id
        if conversation_id is None:
            record = await self.chat.store_now(store, title)
        else:
            record = await store.get_conversation(conversation_id)
            if title is not None:
                record = await store.update_conversation(record.model_copy(update={"title": title}))
        if tags:
            record = await store.add_tags(record.id, tags)
        return record

    async def find_conversation(self, reference: str) -> ConversationRecord:
        """By id, else by a unique id prefix or an exact title (newest first)."""
        store = await self.history()
        try:
            return await store.get_conversation(reference)
        except (ConversationNotFoundError, InvalidChatDataError):
            pass  # not an id (a title need not look like one)
        by_prefix: list[ConversationRecord] = []
        by_title: list[ConversationRecord] = []
        offset = 0
        while page := await store.list_conversations(limit=_PAGE, offset=offset):
            by_prefix.extend(r for r in page if r.id.startswith(reference))
            by_title.extend(r for r in page if r.title == reference)
            offset += len(page)
        matches = by_prefix or by_title
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise ConversationNotFoundError(reference)
        listed = ", ".join(record.id for record in matches[:5])
        raise SessionError(f"{reference!r} matches {len(matches)} conversations: {listed}")

    async def export_conversations(
        self, fmt: ExportFormat, path: Path | None, *, everything: bool
    ) -> Path:
        store = await self.history()
        if everything:
            ids = await all_conversation_ids(store)
            name = "fluent-ai-history"
        else:
            ids = [self.chat.stored_id("export this conversation")]
            name = f"fluent-ai-{ids[0][:12]}"
        target = path if path is not None else self.export_dir / f"{name}{file_extension(fmt)}"
        return await write_export(store, ids, fmt, target)

    async def import_conversations(self, path: Path) -> Sequence[ConversationRecord]:
        store = await self.history()
        return await read_import(store, path)
