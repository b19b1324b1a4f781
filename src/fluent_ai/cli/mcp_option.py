"""``fluent-ai chat --mcp "COMMAND ARGS"`` or ``--mcp URL``: MCP servers whose tools the
chat may call (a stdio command, or a streamable-HTTP endpoint when the value is an
``http(s)://`` URL).

Each server becomes the agent's ``.mcp_server(...)``: started at the first answer, kept
for the next ones in the interactive chat, and stopped when the chat ends. The ``mcp``
SDK is imported only when a server starts.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Sequence

from fluent_ai.errors import InvalidParameterError

__all__ = ["MCPTarget", "parse_mcp_servers", "quiet_sdk_logs"]

#: A stdio server's command words, or an HTTP server's URL.
MCPTarget = list[str] | str


def parse_mcp_servers(values: Sequence[str]) -> list[MCPTarget]:
    """Each ``--mcp`` value as a URL or split as a shell would; an empty or unbalanced one
    is a usage error."""
    commands: list[MCPTarget] = []
    for value in values:
        if value.strip().startswith(("http://", "https://")):
            url = value.strip()
            if any(char.isspace() for char in url):
                raise InvalidParameterError("--mcp", f"a URL cannot contain spaces: {value!r}")
            commands.append(url)
            continue
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise InvalidParameterError("--mcp", f"cannot split {value!r}: {exc}") from None
        if not words:
            raise InvalidParameterError(
                "--mcp", "give a server command, e.g. 'uvx mcp-server-time'"
            )
        commands.append(words)
    return commands


def quiet_sdk_logs() -> None:
    """The SDK logs a server's malformed output with a traceback; the CLI promises one
    ``error:`` line, so its logs show only with --debug."""
    if not logging.getLogger("fluent_ai").isEnabledFor(logging.DEBUG):
        logging.getLogger("mcp").setLevel(logging.CRITICAL)
