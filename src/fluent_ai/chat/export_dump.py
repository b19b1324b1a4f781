"""What an export holds: one conversation whole (record, branches, every message).

A :class:`ConversationDump` checks that it is one consistent tree (every parent, branch
head and fork point is inside it, no cycles, ids unique) and puts branches and messages
in one canonical order, so the same conversation always writes the same bytes however
its parts were fetched. Import errors name the conversation and message index and the
field (``conversations[2].messages[5].role: …``).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from fluent_ai.chat.types import MAIN_BRANCH, Branch, ChatMessage, ConversationRecord
from fluent_ai.errors import FluentAIError, InvalidParameterError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ConversationDump",
    "DumpLike",
    "HistoryDump",
    "HistoryImportError",
    "UnsupportedVersionError",
    "validation_problems",
]

FORMAT: Final = "fluent-ai-history"
FORMAT_VERSION: Final = 1


class HistoryImportError(FluentAIError, ValueError):
    """An import file is not a valid history export; ``location`` names the bad field."""

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"{location}: {problem}" if location else problem)
        self.location = location
        self.problem = problem


class UnsupportedVersionError(HistoryImportError):
    """The file was written in a format version this fluent-ai cannot read."""

    def __init__(self, version: object) -> None:
        super().__init__(
            "version",
            f"unsupported history format version {version!r} "
            f"(this fluent-ai reads version {FORMAT_VERSION})",
        )
        self.version = version


class _Problem(ValueError):
    """A consistency check failed at ``field`` (relative to the model checked)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class DumpLike(Protocol):
    """Any object holding a whole conversation (the chat store's export result is one)."""

    @property
    def record(self) -> ConversationRecord: ...
    @property
    def branches(self) -> Sequence[Branch]: ...
    @property
    def messages(self) -> Sequence[ChatMessage]: ...


class ConversationDump(BaseModel):
    """One conversation with all its branches and messages, in canonical order.

    Messages come parents first, siblings oldest first (then by id); branches come
    ``main`` first, then by name. ``ConversationDump.model_validate(x, from_attributes=True)``
    checks any :class:`DumpLike`.
    """

    model_config = ConfigDict(extra="forbid")

    record: ConversationRecord
    branches: list[Branch]
    messages: list[ChatMessage]

    @model_validator(mode="after")
    def _consistent(self) -> ConversationDump:
        _check(self)
        self.messages = _tree_order(self.messages)
        self.branches = sorted(self.branches, key=lambda b: (b.name != MAIN_BRANCH, b.name))
        return self


class HistoryDump(BaseModel):
    """A whole export file: the format, its version and the conversations."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["fluent-ai-history"] = FORMAT
    version: Literal[1] = FORMAT_VERSION
    conversations: list[ConversationDump]

    @model_validator(mode="after")
    def _unique(self) -> HistoryDump:
        seen: set[str] = set()
        for index, dump in enumerate(self.conversations):
            if dump.record.id in seen:
                raise _Problem(
                    f"conversations[{index}].record.id",
                    f"conversation {dump.record.id!r} appears twice",
                )
            seen.add(dump.record.id)
        return self


def _check(dump: ConversationDump) -> None:
    cid = dump.record.id
    ids: set[str] = set()
    for index, message in enumerate(dump.messages):
        if message.conversation_id != cid:
            raise _Problem(
                f"messages[{index}].conversation_id",
                f"{message.conversation_id!r} is not this conversation ({cid!r})",
            )
        if message.id in ids:
            raise _Problem(f"messages[{index}].id", f"message {message.id!r} appears twice")
        ids.add(message.id)
    for index, message in enumerate(dump.messages):
        if message.parent_id is not None and message.parent_id not in ids:
            raise _Problem(
                f"messages[{index}].parent_id",
                f"no message {message.parent_id!r} in this conversation",
            )
    names: set[str] = set()
    for index, branch in enumerate(dump.branches):
        if branch.conversation_id != cid:
            raise _Problem(
                f"branches[{index}].conversation_id",
                f"{branch.conversation_id!r} is not this conversation ({cid!r})",
            )
        if branch.name in names:
            raise _Problem(f"branches[{index}].name", f"branch {branch.name!r} appears twice")
        names.add(branch.name)
        for field, value in (("head_id", branch.head_id), ("forked_from", branch.forked_from)):
            if value is not None and value not in ids:
                raise _Problem(
                    f"branches[{index}].{field}", f"no message {value!r} in this conversation"
                )
    if dump.messages and not names:
        raise _Problem("branches", "a conversation with messages needs at least one branch")
    if names and dump.record.current_branch not in names:
        raise _Problem("record.current_branch", f"no branch named {dump.record.current_branch!r}")


def _tree_order(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Parents before children; among ready messages the oldest (then lowest id) first."""
    children: dict[str | None, list[ChatMessage]] = {}
    for message in messages:
        children.setdefault(message.parent_id, []).append(message)
    ready: list[tuple[datetime, str, ChatMessage]] = [
        (m.created_at, m.id, m) for m in children.get(None, [])
    ]
    heapq.heapify(ready)
    ordered: list[ChatMessage] = []
    while ready:
        _, _, message = heapq.heappop(ready)
        ordered.append(message)
        for child in children.get(message.id, []):
            heapq.heappush(ready, (child.created_at, child.id, child))
    if len(ordered) != len(messages):
        stuck = sorted({m.id for m in messages} - {m.id for m in ordered})
        raise _Problem("messages", f"parent links form a cycle through {stuck[0]!r}")
    return ordered


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """Each error of ``exc`` as (``path[index].field``, problem)."""
    found = []
    for error in exc.errors():
        where = ""
        for part in error["loc"]:
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else part)
        cause = (error.get("ctx") or {}).get("error")
        problem = str(cause) if isinstance(cause, Exception) else error["msg"]
        if isinstance(cause, InvalidParameterError) and problem.startswith("message: message"):
            # a message_codec error already names the field inside the message
            where, _, problem = (where + problem.removeprefix("message: message")).partition(": ")
        elif isinstance(cause, _Problem):
            # a whole-model check names its own field, relative to the model
            where = f"{where}.{cause.field}" if where else cause.field
            problem = cause.problem
        found.append((where, problem))
    return found
