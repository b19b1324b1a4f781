"""The CSV export: one row per message, for spreadsheets and data tools.

Written with the csv module (RFC 4180 quoting, ``\\r\\n`` rows, newlines kept inside
quoted cells). A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``
(or a tab or carriage return) as a formula, so such text cells get a leading ``'``
(the OWASP guard): ``=cmd|' /C calc'!A0`` is read back as ``'=cmd|' /C calc'!A0``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from fluent_ai.chat.export_render import Dumps, as_dumps, describe_image, message_branches, pieces
from fluent_ai.chat.types import ChatMessage

__all__ = ["CSV_COLUMNS", "safe_cell", "to_csv"]

CSV_COLUMNS = (
    "conversation_id",
    "title",
    "branches",
    "message_id",
    "parent_id",
    "created_at",
    "role",
    "model",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "status",
    "error",
    "text",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ROWS_PER_CHUNK = 500


def safe_cell(text: str) -> str:
    """``text`` that no spreadsheet will evaluate as a formula."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _text(message: ChatMessage) -> str:
    return "".join(p if isinstance(p, str) else describe_image(p) for p in pieces(message.message))


def _row(title: str, branches: list[str], message: ChatMessage) -> list[str]:
    cost = "" if message.cost_usd is None else repr(message.cost_usd)
    return [
        message.conversation_id,
        safe_cell(title),
        " ".join(branches),
        message.id,
        message.parent_id or "",
        message.created_at.isoformat(timespec="microseconds"),
        message.role.value,
        safe_cell(message.model),
        str(message.input_tokens),
        str(message.output_tokens),
        cost,
        message.status,
        safe_cell(message.error or ""),
        safe_cell(_text(message)),
    ]


def to_csv(dumps: Dumps) -> Iterator[str]:
    """A header row, then every message of every conversation (all branches)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for dump in as_dumps(dumps):
        holders = message_branches(dump)
        for message in dump.messages:
            writer.writerow(_row(dump.record.title, holders[message.id], message))
            rows += 1
            if rows % _ROWS_PER_CHUNK == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()
