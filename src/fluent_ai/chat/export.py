"""Export and import of conversations: one entry point for every format.

JSON is the lossless format (export → import → export gives the same bytes); Markdown,
plain text, CSV and HTML are for reading and other tools. Every writer takes one
:class:`ConversationDump` or an iterable of them and yields text in pieces, so the
caller streams a large export to a file (or a response) without holding it whole.
The writers are plain synchronous code: async callers run them in a thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal, get_args

from fluent_ai.chat.export_csv import CSV_COLUMNS, to_csv
from fluent_ai.chat.export_dump import (
    FORMAT,
    FORMAT_VERSION,
    ConversationDump,
    DumpLike,
    HistoryDump,
    HistoryImportError,
    UnsupportedVersionError,
)
from fluent_ai.chat.export_html import CONTENT_SECURITY_POLICY, to_html
from fluent_ai.chat.export_json import dump_to_json, from_json, to_json
from fluent_ai.chat.export_render import Dumps, branch_path
from fluent_ai.chat.export_text import to_markdown, to_text
from fluent_ai.errors import InvalidParameterError

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CSV_COLUMNS",
    "EXPORT_FORMATS",
    "FORMAT",
    "FORMAT_VERSION",
    "ConversationDump",
    "DumpLike",
    "Dumps",
    "ExportFormat",
    "HistoryDump",
    "HistoryImportError",
    "UnsupportedVersionError",
    "branch_path",
    "dump_to_json",
    "export",
    "file_extension",
    "from_json",
    "to_csv",
    "to_html",
    "to_json",
    "to_markdown",
    "to_text",
]

ExportFormat = Literal["json", "markdown", "text", "csv", "html"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)

_EXTENSIONS: dict[ExportFormat, str] = {
    "json": ".json",
    "markdown": ".md",
    "text": ".txt",
    "csv": ".csv",
    "html": ".html",
}
_ALIASES: dict[str, ExportFormat] = {"md": "markdown", "txt": "text", "htm": "html"}


def _format(name: str) -> ExportFormat:
    if not isinstance(name, str):
        raise InvalidParameterError("format", f"must be text, got {type(name).__name__}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    for known in EXPORT_FORMATS:
        if key == known:
            return known
    raise InvalidParameterError(
        "format", f"unknown export format {name!r}; choose one of {', '.join(EXPORT_FORMATS)}"
    )


def file_extension(format: str) -> str:
    """The usual file extension of ``format`` (``.md`` for Markdown …)."""
    return _EXTENSIONS[_format(format)]


def export(
    dumps: Dumps,
    format: str,
    *,
    all_branches: bool = False,
) -> Iterator[str]:
    """``dumps`` in ``format`` (a name of :data:`EXPORT_FORMATS`, or md / txt / htm).

    ``all_branches`` makes Markdown, text and HTML show every branch instead of the
    current one; JSON and CSV always hold every message.
    """
    chosen = _format(format)
    writers: dict[ExportFormat, Callable[[], Iterator[str]]] = {
        "json": lambda: to_json(dumps),
        "csv": lambda: to_csv(dumps),
        "markdown": lambda: to_markdown(dumps, all_branches=all_branches),
        "text": lambda: to_text(dumps, all_branches=all_branches),
        "html": lambda: to_html(dumps, all_branches=all_branches),
    }
    return writers[chosen]()
