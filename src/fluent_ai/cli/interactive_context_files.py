"""``/export`` and ``/import`` in the terminal: files written and read off the event loop.

The formats and the all-or-nothing import are :mod:`fluent_ai.cli.history_io`'s (the same
as ``fluent-ai history export`` / ``import``); this adds what a chat command needs: a
file that cannot be written or read is a :class:`SessionError` naming it, so the chat
shows one line and goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from fluent_ai.chat.store import ChatStore
from fluent_ai.chat.types import ConversationRecord
from fluent_ai.cli.interactive_context_session import SessionError

__all__ = ["read_import", "write_export"]


async def write_export(store: ChatStore, ids: Sequence[str], fmt: str, target: Path) -> Path:
    """Write conversations ``ids`` in ``fmt`` to ``target``; the path written."""
    from fluent_ai.cli.history_io import export_to

    try:
        await export_to(store, ids, fmt, target, all_branches=False)
    except OSError as exc:
        raise SessionError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


async def read_import(store: ChatStore, path: Path) -> list[ConversationRecord]:
    """Import every conversation of a JSON export (or none); the conversations added."""
    from fluent_ai.chat.export import from_json
    from fluent_ai.cli.history_io import import_dumps

    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from None
    dumps = await asyncio.to_thread(from_json, data)
    await import_dumps(store, dumps, skip_existing=False)
    return [dump.record for dump in dumps]
