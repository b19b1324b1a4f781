"""An in-memory CommandContext: what a front end supplies, with every call recorded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluent_ai.chat.commands import ConversationStats, ExportFormat, NameSource
from fluent_ai.chat.macros import MacroRecorder, MacroStore
from fluent_ai.chat.templates import TemplateStore
from fluent_ai.chat.types import Branch, ChatMessage, ConversationRecord, HistoryFilter
from fluent_ai.config import Settings
from fluent_ai.errors import FluentAIError
from fluent_ai.tools.tool import Tool
from fluent_ai.types import Message


@dataclass(frozen=True)
class Hit:
    message: ChatMessage
    score: float
    snippet: str


def clock(when: str) -> str:
    """An echo tool for /tool tests."""
    return when


class FakeContext:
    """Records what the commands asked for; answers from small in-memory data."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.theme = "dark"
        self.debug = False
        self.calls: list[tuple[str, Any]] = []
        self.branches = ["main"]
        self.settings = Settings(home=self.home)
        self.templates = TemplateStore(self.home / "templates")
        self.macros = MacroStore(self.home / "macros")
        self.macro_recorder = MacroRecorder()
        self.conversations = [
            ConversationRecord(id="c1", title="Paris trip", session="travel", tags=["paris"]),
            ConversationRecord(id="c2", title="Rust notes"),
        ]

    def last(self) -> tuple[str, Any]:
        """The newest recorded call."""
        return self.calls[-1]

    def chat_settings(self) -> Mapping[str, object]:
        return {
            "model": "scripted",
            "system": None,
            "temperature": 0.7,
            "max_tokens": None,
            "stream": True,
        }

    def completion_names(self, source: NameSource) -> Sequence[str]:
        names = {
            "branch": self.branches,
            "session": ["travel", "work"],
            "tool": ["clock"],
            "conversation": [c.id for c in self.conversations],
        }
        return names.get(source, [])

    async def tools(self) -> Mapping[str, Tool]:
        return {"clock": Tool.from_function(clock)}

    async def stats(self) -> ConversationStats:
        return ConversationStats("c1", "main", "scripted", 4, 120, 80, 0.0012)

    async def search(
        self, query: str, filters: HistoryFilter, *, limit: int, offset: int
    ) -> Sequence[Hit]:
        self.calls.append(("search", (query, filters, limit, offset)))
        message = ChatMessage(conversation_id="c1", message=Message.user("Paris in spring"))
        return [Hit(message, 1.5, "[Paris] in spring")]

    async def recent_conversations(
        self, filters: HistoryFilter, *, limit: int
    ) -> Sequence[ConversationRecord]:
        self.calls.append(("recent", (filters, limit)))
        return self.conversations[:limit]

    async def list_branches(self) -> Sequence[Branch]:
        return [Branch(conversation_id="c1", name=name) for name in self.branches]

    async def create_branch(self, name: str, at: int | None) -> Branch:
        self.calls.append(("create_branch", (name, at)))
        self.branches.append(name)
        return Branch(conversation_id="c1", name=name)

    async def delete_branch(self, name: str) -> None:
        if name not in self.branches:
            raise FluentAIError(f"no branch {name!r}")
        self.branches.remove(name)

    async def list_sessions(self) -> Sequence[str]:
        return ["travel", "work"]

    async def save_conversation(self, title: str | None, tags: Sequence[str]) -> ConversationRecord:
        self.calls.append(("save", (title, list(tags))))
        return ConversationRecord(id="c3", title=title or "", tags=list(tags))

    async def find_conversation(self, reference: str) -> ConversationRecord:
        for record in self.conversations:
            if reference in (record.id, record.title):
                return record
        raise FluentAIError(f"no conversation {reference!r}")

    async def export_conversations(
        self, fmt: ExportFormat, path: Path | None, *, everything: bool
    ) -> Path:
        self.calls.append(("export", (fmt, path, everything)))
        return path or self.home / f"chat.{fmt}"

    async def import_conversations(self, path: Path) -> Sequence[ConversationRecord]:
        self.calls.append(("import", path))
        return self.conversations
