"""The lossless JSON format: export → import → export gives the same bytes.

The document is ``{"conversations": [...], "format": "fluent-ai-history", "version": 1}``
with one conversation per line, so it is written a conversation at a time. It is
canonical: keys sorted, conversations in the order given, branches and messages in the
dump's canonical order, each message through :mod:`fluent_ai.message_codec`, times in
UTC with microseconds, floats as their shortest exact decimal, and ASCII only (so any
channel carries it and even a lone surrogate in a message survives).

Import checks the envelope first (an unknown version is refused before anything else
is read), then every conversation, and names the first bad field by its place in the
file: ``conversations[2].messages[5].message.tool_calls[0].id: must be text``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from fluent_ai.chat.export_dump import (
    FORMAT,
    FORMAT_VERSION,
    ConversationDump,
    HistoryDump,
    HistoryImportError,
    UnsupportedVersionError,
    validation_problems,
)
from fluent_ai.chat.export_render import Dumps, as_dumps

__all__ = ["dump_to_json", "from_json", "to_json"]


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dump_to_json(dump: ConversationDump) -> str:
    """One conversation as canonical JSON on one line.

    A non-finite float (possible in metadata) is written as ``NaN``/``Infinity``, as
    Python's json module reads it back, rather than failing the whole export.
    """
    return json.dumps(
        dump.model_dump(mode="python"),
        default=_default,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )


def to_json(dumps: Dumps) -> Iterator[str]:
    """The export document, yielded one conversation (one line) at a time."""
    yield '{"conversations":['
    for index, dump in enumerate(as_dumps(dumps)):
        yield ("\n" if index == 0 else ",\n") + dump_to_json(dump)
    yield f'\n],"format":{json.dumps(FORMAT)},"version":{FORMAT_VERSION}}}\n'


def from_json(text: str | bytes) -> list[ConversationDump]:
    """The conversations of an export document, every field checked.

    Raises :class:`HistoryImportError` naming the bad field, or
    :class:`UnsupportedVersionError` for a file from another format version.
    """
    if not isinstance(text, str | bytes):
        raise HistoryImportError("", f"expected JSON text, got {type(text).__name__}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HistoryImportError(
            "", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except UnicodeDecodeError as exc:
        raise HistoryImportError("", f"not UTF-8 text ({exc.reason})") from None
    except RecursionError:
        raise HistoryImportError("", "not JSON this reader accepts: nested too deeply") from None
    _check_envelope(data)
    try:
        return HistoryDump.model_validate(data).conversations
    except ValidationError as exc:
        (where, problem), *rest = validation_problems(exc)
        more = "".join(f"; {w}: {p}" if w else f"; {p}" for w, p in rest)
        raise HistoryImportError(where, problem + more + _named(where, data)) from None


def _check_envelope(data: Any) -> None:
    if not isinstance(data, dict):
        raise HistoryImportError("", f"expected a JSON object, got {_kind(data)}")
    if data.get("format") != FORMAT:
        raise HistoryImportError(
            "format", f"not a fluent-ai history export (want format {FORMAT!r})"
        )
    version = data.get("version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise UnsupportedVersionError(version)
    if not isinstance(data.get("conversations"), list):
        raise HistoryImportError("conversations", "must be a list of conversations")


def _named(where: str, data: dict[str, Any]) -> str:
    """`` (conversation 'ID')`` for an error inside a conversation whose id is readable."""
    if not where.startswith("conversations["):
        return ""
    index = int(where[len("conversations[") : where.index("]")])
    raw = data["conversations"][index]
    record = raw.get("record") if isinstance(raw, dict) else None
    cid = record.get("id") if isinstance(record, dict) else None
    return f" (in conversation {cid[:64]!r})" if isinstance(cid, str) else ""


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    return "null" if value is None else type(value).__name__
