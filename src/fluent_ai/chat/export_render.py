"""What the readable writers (Markdown, text, CSV, HTML) share.

Branch paths (what the model saw on a branch), which branches hold a message, how an
image or usage is named in prose: one reading of a dump, so every format agrees.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from fluent_ai.chat.export_dump import ConversationDump, DumpLike
from fluent_ai.chat.types import Branch, ChatMessage
from fluent_ai.errors import InvalidParameterError
from fluent_ai.types import ImagePart, Message, TextPart

__all__ = [
    "Dumps",
    "Section",
    "as_dumps",
    "branch_path",
    "describe_image",
    "message_branches",
    "one_line",
    "pieces",
    "plain_metadata",
    "sections",
    "stamp",
    "usage",
]


@dataclass(frozen=True, slots=True)
class Section:
    """One branch's messages as a readable export shows them.

    ``messages`` leaves out what an earlier section already showed; ``continues_from``
    is then the last shown message this section hangs under.
    """

    branch: Branch
    messages: list[ChatMessage]
    continues_from: str | None


def branch_path(dump: ConversationDump, name: str) -> list[ChatMessage]:
    """The messages from the root to the head of branch ``name`` (what the model sees)."""
    branch = next((b for b in dump.branches if b.name == name), None)
    if branch is None:
        raise InvalidParameterError("branch", f"conversation {dump.record.id!r} has no {name!r}")
    return _path({m.id: m for m in dump.messages}, branch.head_id)


def _path(by_id: Mapping[str, ChatMessage], head: str | None) -> list[ChatMessage]:
    path: list[ChatMessage] = []
    while head is not None:
        message = by_id[head]
        path.append(message)
        head = message.parent_id
    path.reverse()
    return path


def sections(dump: ConversationDump, *, all_branches: bool = False) -> list[Section]:
    """The current branch's path, or every branch's (each message shown once)."""
    if not dump.branches:
        return []
    if not all_branches:
        current = next(b for b in dump.branches if b.name == dump.record.current_branch)
        return [Section(current, branch_path(dump, current.name), None)]
    by_id = {m.id: m for m in dump.messages}
    shown: set[str] = set()
    result = []
    for branch in dump.branches:
        path = _path(by_id, branch.head_id)
        fresh = [m for m in path if m.id not in shown]
        anchor = fresh[0].parent_id if fresh else branch.head_id
        shown.update(m.id for m in fresh)
        result.append(Section(branch, fresh, anchor))
    return result


def message_branches(dump: ConversationDump) -> dict[str, list[str]]:
    """For each message id, the names of the branches whose path holds it."""
    by_id = {m.id: m for m in dump.messages}
    holders: dict[str, list[str]] = {m.id: [] for m in dump.messages}
    for branch in dump.branches:
        for message in _path(by_id, branch.head_id):
            holders[message.id].append(branch.name)
    return holders


def pieces(message: Message) -> list[str | ImagePart]:
    """The content in order: text as text, images as parts (writers name them)."""
    if isinstance(message.content, str):
        return [message.content] if message.content else []
    return [p.text if isinstance(p, TextPart) else p for p in message.content]


def describe_image(part: ImagePart, limit: int = 200) -> str:
    """An image by its URL; a ``data:`` URL by its type and size, not its bytes."""
    if part.url.startswith("data:"):
        kind = part.url[5:].split(",", 1)[0].split(";", 1)[0] or "data"
        return f"[image: {kind}, {len(part.url)} characters of data]"
    url = part.url if len(part.url) <= limit else part.url[: limit - 1] + "…"
    return f"[image: {url}]"


def one_line(text: str) -> str:
    """``text`` with line breaks flattened, for headings and table cells."""
    return " ".join(text.split())


def stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def usage(message: ChatMessage) -> str:
    """Tokens and cost, when the message has any."""
    bits = []
    if message.input_tokens or message.output_tokens:
        bits.append(f"{message.input_tokens} in / {message.output_tokens} out tokens")
    if message.cost_usd is not None:
        bits.append(f"${message.cost_usd:.6f}")
    return ", ".join(bits)


Dumps: TypeAlias = Iterable[DumpLike] | DumpLike


def as_dumps(dumps: Dumps) -> Iterator[ConversationDump]:
    """Writers take one dump or many, checked and in canonical order."""
    # a pydantic model is iterable too (over its fields), so test for the dump first
    many: Iterable[DumpLike]
    if isinstance(dumps, ConversationDump) or not isinstance(dumps, Iterable):
        many = [dumps]
    else:
        many = dumps
    for dump in many:
        if isinstance(dump, ConversationDump):
            yield dump
        else:
            yield ConversationDump.model_validate(dump, from_attributes=True)


def plain_metadata(metadata: Mapping[str, Any]) -> str:
    """Metadata as sorted ``key=value`` pairs, values as JSON."""
    return ", ".join(
        f"{key}={json.dumps(metadata[key], ensure_ascii=False, sort_keys=True)}"
        for key in sorted(metadata)
    )
