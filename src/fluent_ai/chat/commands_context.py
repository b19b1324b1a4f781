"""What a front end gives the commands: :class:`CommandContext`.

Commands reach the conversation, the settings and the chat history only through this
protocol, so the terminal, the server and tests each supply their own. The history part
is deliberately narrow (just what the commands call) and speaks in the record types of
:mod:`fluent_ai.chat.types`; the front end answers it from its chat store and search
service. State that belongs to one user's session (the macro being recorded, the theme)
lives in the context too, never in the shared registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from fluent_ai.chat.commands_spec import NameSource

if TYPE_CHECKING:
    from fluent_ai.chat.macros import MacroRecorder, MacroStore
    from fluent_ai.chat.templates import TemplateStore
    from fluent_ai.chat.types import Branch, ChatMessage, ConversationRecord, HistoryFilter
    from fluent_ai.config import Settings
    from fluent_ai.tools.tool import Tool

__all__ = [
    "EXPORT_FORMATS",
    "ChatHistoryContext",
    "CommandContext",
    "ConversationStats",
    "ExportFormat",
    "SearchHitView",
]

ExportFormat = Literal["json", "md", "txt", "csv", "html"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("json", "md", "txt", "csv", "html")


@dataclass(frozen=True, slots=True)
class ConversationStats:
    """What ``/stats`` shows about the conversation in progress."""

    conversation_id: str | None
    branch: str
    model: str
    messages: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None


class SearchHitView(Protocol):
    """One history search hit, as the commands read it."""

    @property
    def message(self) -> ChatMessage: ...

    @property
    def score(self) -> float: ...

    @property
    def snippet(self) -> str: ...


class ChatHistoryContext(Protocol):
    """The stored-history operations behind /search /history /branch /session /save
    /load /export /import; "current" means the conversation the front end shows."""

    async def search(
        self, query: str, filters: HistoryFilter, *, limit: int, offset: int
    ) -> Sequence[SearchHitView]:
        """Hits for ``query`` (the history query language), best first."""
        ...

    async def recent_conversations(
        self, filters: HistoryFilter, *, limit: int
    ) -> Sequence[ConversationRecord]:
        """Conversations, most recently updated first."""
        ...

    async def list_branches(self) -> Sequence[Branch]:
        """The current conversation's branches."""
        ...

    async def create_branch(self, name: str, at: int | None) -> Branch:
        """Fork the current conversation at its message number ``at`` (1 = first;
        ``None`` = the newest) into a new branch ``name``."""
        ...

    async def delete_branch(self, name: str) -> None:
        """Delete branch ``name`` of the current conversation (not the current one)."""
        ...

    async def list_sessions(self) -> Sequence[str]:
        """Every session name in use."""
        ...

    async def save_conversation(self, title: str | None, tags: Sequence[str]) -> ConversationRecord:
        """Make sure the current conversation is stored; set its title, add ``tags``."""
        ...

    async def find_conversation(self, reference: str) -> ConversationRecord:
        """A conversation by id, unique id prefix or exact title; a typed error if none."""
        ...

    async def export_conversations(
        self, fmt: ExportFormat, path: Path | None, *, everything: bool
    ) -> Path:
        """Write the current conversation (or all, with ``everything``) in ``fmt``;
        ``path=None`` lets the front end choose a file name. Returns the file written."""
        ...

    async def import_conversations(self, path: Path) -> Sequence[ConversationRecord]:
        """Import a file (format from its content/suffix); the conversations added."""
        ...


class CommandContext(ChatHistoryContext, Protocol):
    """Everything a front end supplies to run commands (one per user session)."""

    @property
    def settings(self) -> Settings:
        """The configuration (``/config`` shows it)."""
        ...

    @property
    def templates(self) -> TemplateStore: ...

    @property
    def macros(self) -> MacroStore: ...

    @property
    def macro_recorder(self) -> MacroRecorder:
        """This session's recorder (its lines are recorded while it is active)."""
        ...

    @property
    def theme(self) -> str:
        """The colour theme in use: ``dark``, ``light`` or ``plain``."""
        ...

    @property
    def debug(self) -> bool: ...

    def chat_settings(self) -> Mapping[str, object]:
        """The current values of the keys ``/settings`` can change (model, temperature…)."""
        ...

    def completion_names(self, source: NameSource) -> Sequence[str]:
        """Names for tab completion (branches, sessions, tools, conversations); fast and
        non-blocking: a cached list is fine. Templates and macros are listed by the
        commands themselves."""
        ...

    async def tools(self) -> Mapping[str, Tool]:
        """The tools the agent may call, by name."""
        ...

    async def stats(self) -> ConversationStats: ...
