"""What ``fluent-ai history`` does beyond one store call: stream exports, import files whole.

Exports are written a conversation at a time: the format writers are synchronous
generators, so they run in a worker thread that pulls each conversation from the event
loop as it needs it (memory holds one conversation, whatever the history's size). A
file is written beside its target and renamed into place, so a failed export never
leaves half a file under the name asked for.

An import file is all or nothing: every conversation id is checked first, then each
conversation is imported in its own transaction (the store's unit), and if one fails
the ones already imported from the file are deleted again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from fluent_ai.chat.export import ConversationDump, export
from fluent_ai.chat.store import ChatStore, ConversationExistsError, ConversationNotFoundError
from fluent_ai.chat.types import HistoryFilter
from fluent_ai.types import Role

__all__ = ["ImportReport", "all_conversation_ids", "export_to", "import_dumps", "store_stats"]

_PAGE = 10_000


async def all_conversation_ids(store: ChatStore) -> list[str]:
    """Every conversation id, oldest first (ids sort by creation time): a stable order."""
    found: set[str] = set()
    offset = 0
    while page := await store.list_conversations(limit=_PAGE, offset=offset):
        found.update(record.id for record in page)
        offset += len(page)
    return sorted(found)


async def export_to(
    store: ChatStore, ids: Sequence[str], fmt: str, path: Path | None, *, all_branches: bool
) -> None:
    """Write the conversations ``ids`` in ``fmt`` to ``path`` (``None``: standard output)."""
    loop = asyncio.get_running_loop()

    def dumps() -> Iterator[ConversationDump]:
        for conversation_id in ids:
            future = asyncio.run_coroutine_threadsafe(
                store.export_conversation(conversation_id), loop
            )
            yield future.result()

    def write(sink: TextIO) -> None:
        for chunk in export(dumps(), fmt, all_branches=all_branches):
            sink.write(chunk)

    def to_file(given: Path) -> None:
        target = given.expanduser().resolve()
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as sink:
                write(sink)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def to_stdout() -> None:
        write(sys.stdout)
        sys.stdout.flush()

    if path is None:
        await asyncio.to_thread(to_stdout)
    else:
        await asyncio.to_thread(to_file, path)


@dataclass(frozen=True, slots=True)
class ImportReport:
    imported: int
    messages: int
    skipped: int


async def import_dumps(
    store: ChatStore, dumps: Sequence[ConversationDump], *, skip_existing: bool
) -> ImportReport:
    """Store every conversation of one file, or none of them."""
    pending: list[ConversationDump] = []
    for dump in dumps:
        try:
            await store.get_conversation(dump.record.id)
        except ConversationNotFoundError:
            pending.append(dump)
            continue
        if not skip_existing:
            raise ConversationExistsError(dump.record.id)
    done: list[str] = []
    try:
        for dump in pending:
            await store.import_conversation(dump.record, dump.branches, dump.messages)
            done.append(dump.record.id)
    except BaseException:
        for conversation_id in reversed(done):
            await store.delete_conversation(conversation_id)
        raise
    messages = sum(len(dump.messages) for dump in pending)
    return ImportReport(len(pending), messages, len(dumps) - len(pending))


async def store_stats(store: ChatStore) -> dict[str, object]:
    """Counts for ``history stats``: conversations, messages by role, sessions, tags."""
    roles = {
        role.value: await store.count_messages(HistoryFilter(roles=frozenset({role})))
        for role in Role
    }
    tags = await store.tags()
    return {
        "store": getattr(store, "location", None) or getattr(store, "url", ""),
        "conversations": len(await all_conversation_ids(store)),
        "messages": await store.count_messages(),
        "by_role": {role: count for role, count in roles.items() if count},
        "sessions": len(await store.sessions()),
        "tags": {tag.tag: tag.conversations for tag in tags[:20]},
    }
