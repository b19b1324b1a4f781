"""What MCP results, tool names and failures become on our side of the loop.

Kept apart from the connection logic: the text a model reads, the names providers
accept and the words of an error can be checked without a server. Results are read by
their wire fields, so only a failure's classification imports the ``mcp`` SDK.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

from fluent_ai.errors import excerpt

if TYPE_CHECKING:
    from mcp.types import CallToolResult

__all__ = ["failure_reason", "innermost", "local_names", "result_text", "stderr_tail"]

_VALID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_INVALID_CHAR = re.compile(r"[^a-zA-Z0-9_-]")
_MAX_NAME = 64
_STDERR_TAIL_BYTES = 4096
_STDERR_TAIL_CHARS = 400


def local_names(remote: Iterable[str], prefix: str = "") -> dict[str, str]:
    """``{our name: the server's name}``: every provider accepts only ``[a-zA-Z0-9_-]{1,64}``.

    Names that are already valid are kept first, so a sanitised name can never take the
    place of a real one; clashes get ``_2``, ``_3``… suffixes.
    """
    wanted = [(name, f"{prefix}{name}") for name in remote]
    chosen: dict[str, str] = {}
    kept: set[int] = set()
    for index, (name, full) in enumerate(wanted):
        if _VALID.match(full) and full not in chosen:
            chosen[full] = name
            kept.add(index)
    for index, (name, full) in enumerate(wanted):
        if index in kept:
            continue
        base = _INVALID_CHAR.sub("_", full)[:_MAX_NAME] or "tool"
        local, number = base, 2
        while local in chosen:
            suffix = f"_{number}"
            local = f"{base[: _MAX_NAME - len(suffix)]}{suffix}"
            number += 1
        chosen[local] = name
    return chosen


def _size(data: str) -> str:
    try:
        return f"{len(base64.b64decode(data, validate=False)):,} bytes"
    except (binascii.Error, ValueError):
        return f"{len(data):,} base64 characters"


def _block_text(block: Any) -> str:
    """One content block as text; binary content is described, not inlined."""
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{block.mime_type}, {_size(block.data)}]"
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if isinstance(text, str):
            return f"[resource {resource.uri}]\n{text}"
        mime = resource.mime_type or "application/octet-stream"
        return f"[resource {resource.uri}, {mime}, {_size(resource.blob)}]"
    if kind == "resource_link":
        mime = f", {block.mime_type}" if block.mime_type else ""
        return f"[resource link {block.name}: {block.uri}{mime}]"
    return f"[{kind or 'unknown'} content]"


def result_text(result: CallToolResult) -> str:
    """The text the model reads: text blocks joined, other blocks described briefly.

    A result with only ``structuredContent`` (no blocks) is sent as its JSON.
    """
    parts = [_block_text(block) for block in result.content]
    if not parts and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False, default=str)
    return "\n".join(parts)


def stderr_tail(errlog: TextIO) -> str:
    """The end of the server's stderr, read without moving the offset the child writes at."""
    fd = errlog.fileno()
    size = os.fstat(fd).st_size
    start = max(0, size - _STDERR_TAIL_BYTES)
    data = os.pread(fd, size - start, start).decode("utf-8", errors="replace")
    lines = [" ".join(line.split()) for line in data.splitlines() if line.strip()]
    text = " | ".join(lines[-5:])
    return text if len(text) <= _STDERR_TAIL_CHARS else "…" + text[-_STDERR_TAIL_CHARS:]


def innermost(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups from the SDK's task groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def failure_reason(exc: BaseException) -> str:
    """Why a call or a start failed, in words a user can act on."""
    leaf = innermost(exc)
    if isinstance(leaf, FileNotFoundError):
        return f"command not found: {leaf.filename or leaf}"
    if isinstance(leaf, PermissionError):
        return f"permission denied: {leaf.filename or leaf}"
    if isinstance(leaf, OSError) and leaf.strerror:
        return leaf.strerror
    from mcp.shared.exceptions import MCPError as ProtocolError
    from mcp.types import CONNECTION_CLOSED

    text = str(leaf)
    if isinstance(leaf, ProtocolError):
        if leaf.code == CONNECTION_CLOSED:
            return "the server closed the connection (it exited or crashed)"
        return excerpt(text)
    return excerpt(f"{type(leaf).__name__}: {text}" if text else type(leaf).__name__)
