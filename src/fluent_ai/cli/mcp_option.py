"""``fluent-ai chat --mcp "COMMAND ARGS"``: stdio MCP servers whose tools the chat may call.

Each server becomes the agent's ``.mcp_server(...)``: started at the first answer, kept
for the next ones in the interactive chat, and stopped when the chat ends. The ``mcp``
SDK is imported only when a server starts.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING

from fluent_ai.errors import InvalidParameterError

if TYPE_CHECKING:
    pass

__all__ = ["parse_mcp_commands", "quiet_sdk_logs"]


def parse_mcp_commands(values: Sequence[str]) -> list[list[str]]:
    """Each ``--mcp`` value split as a shell would; an empty or unbalanced one is a usage error."""
    commands: list[list[str]] = []
    for value in values:
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
